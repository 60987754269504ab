/* The rule for names that become file names (names.h). */
#include "repo/names.h"

#include <jansson.h>
#include <string.h>

const char *cairn_name_problem(const char *s, bool at_ok)
{
	if (!*s)
		return "is empty";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "is '.' or '..'";
	if (strlen(s) > CAIRN_NAME_MAX)
		return "is longer than 200 bytes";
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/' || (*p == '@' && !at_ok))
			return at_ok ? "holds '/' or a control character" : "holds '/', '@' or a control character";
	/* Objects are JSON: jansson refuses what is not UTF-8. */
	json_t *j = json_string(s);
	json_decref(j);
	return j ? NULL : "is not valid UTF-8";
}

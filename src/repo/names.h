/* The names a repository object carries that end up as names elsewhere:
 * volume names and tags (manifests), a group member's volume name and its
 * config document's name (group objects), which group restore makes
 * files of in the directory it is given.  One rule, checked when a name
 * is given (backup) and again when an object is read, so a hostile or
 * damaged object cannot name a file outside that directory. */
#ifndef CAIRN_REPO_NAMES_H
#define CAIRN_REPO_NAMES_H

#include <stdbool.h>

#define CAIRN_NAME_MAX 200 /* bytes */

/* Why s cannot be a volume name or tag (at_ok false), or the name of a
 * group's config document (at_ok true: a file's base name may hold '@'),
 * or NULL when it can: it is empty, "." or "..", longer than
 * CAIRN_NAME_MAX, holds '/' or a control character, or is not UTF-8
 * (objects are JSON); '@' parts VOLUME@latest.  The reason reads after
 * "it ": "holds '/', '@' or a control character". */
const char *cairn_name_problem(const char *s, bool at_ok);

#endif

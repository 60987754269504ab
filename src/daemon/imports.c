/* Import policies (imports.h). */
#include "daemon/imports.h"
#include "daemon/schedule.h"
#include "state/repos.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int cairn_daemon_imports_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due)
{
	struct cairn_repo_reg *v = NULL;
	size_t n = 0;
	struct cairn_due_list d = CAIRN_DUE_LIST_INIT;
	int r = cairn_repo_reg_list(st, &v, &n);
	if (r < 0)
		return cairn_due_finish(&d, r, ret, ret_n, ret_next_due);
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (!cairn_due_at(&d, now, v[i].every, v[i].imported, v[i].last_import))
			continue;
		if ((r = cairn_repo_reg_set_last_import(st, v[i].name, now)) >= 0)
			r = cairn_due_add(&d, v[i].name);
	}
	cairn_repo_regs_free(v, n);
	return cairn_due_finish(&d, r, ret, ret_n, ret_next_due);
}

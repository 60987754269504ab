/* The application's settings (app.h). */
#include "app/app.h"
#include "util/error.h"

#include <stdio.h>

int cairn_app_state_open(const struct cairn_app *app, bool no_create, struct cairn_state **ret)
{
	if (!app->state_dir)
		return cairn_error_set(CAIRN_EINVAL, "no state directory: use --state-dir DIR or set CAIRN_STATE_DIR");
	struct cairn_state_params p = { .key_file = app->state_key_file, .no_create = no_create };
	return cairn_state_open(app->state_dir, &p, ret);
}

void cairn_app_human_size(uint64_t v, char *buf, size_t size)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	int u = 0;
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, size, "%.*f %s", d < 10 ? 2 : d < 100 ? 1 : 0, d, units[u]);
}


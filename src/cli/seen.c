/* The backups-seen record's warning, printed (cli.h, app/seen.h). */
#include "cli/cli.h"
#include "util/log.h"
#include "util/time.h"

json_t *cli_seen_json(const struct cairn_seen_report *r)
{
	if (!r->vanished)
		return json_null();
	char created[48];
	cairn_time_format(r->created_us / 1000000, created, sizeof(created));
	return json_pack("{s:I, s:{s:s, s:s, s:s}}", "count", (json_int_t)r->vanished, "newest", "id", r->id, "volume",
			 r->volume, "created", created);
}

void cli_seen_warn(const struct cairn_seen_report *r)
{
	if (!r->vanished)
		return;
	char msg[1024];
	cairn_app_seen_describe(r, msg, sizeof(msg));
	cairn_log_warn("%s", msg);
}

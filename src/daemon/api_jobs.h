/* The API's resources that run as queued jobs (daemon/jobq.h): restores
 * of volumes and groups, file restores, copies, the forget of one backup,
 * a standby's update and failover.  Each checks its request (400, 404, 409
 * before anything is queued), then queues the CLI's command for it and
 * answers 202 with the job's id and its Location.  Routes in
 * api_handlers.c's table. */
#ifndef CAIRN_DAEMON_API_JOBS_H
#define CAIRN_DAEMON_API_JOBS_H

#include "daemon/api_req.h"

int cairn_api_post_restores(struct cairn_api_req *rq);
int cairn_api_post_restores_file(struct cairn_api_req *rq);
int cairn_api_post_copies(struct cairn_api_req *rq);
int cairn_api_delete_backup(struct cairn_api_req *rq);
int cairn_api_post_standby_update(struct cairn_api_req *rq);
int cairn_api_post_standby_failover(struct cairn_api_req *rq);
int cairn_api_post_standbys(struct cairn_api_req *rq);
/* Quick ones, answered at once (200). */
int cairn_api_delete_standby(struct cairn_api_req *rq);
int cairn_api_delete_group(struct cairn_api_req *rq);

/* Refuses a body field not in known (NULL-terminated): CAIRN_EINVAL
 * "unknown field X" (api_handlers.c). */
int cairn_api_check_fields(struct cairn_api_req *rq, const char *const *known);

#endif

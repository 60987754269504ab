#include "util/procid.h"
#include "cairn/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void read_boot_id(char *buf, size_t size)
{
	buf[0] = 0;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = 0;
	else
		buf[0] = 0;
	fclose(f);
}

int cairn_proc_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return CAIRN_ENOTFOUND;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = 0;
	/* The command name (field 2) may hold spaces and parentheses: fields
	 * are counted from the last ')'. */
	char *p = strrchr(line, ')');
	if (!p)
		return CAIRN_ENOTFOUND;
	p++;
	/* A zombie has finished: only its parent has not reaped it yet. */
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return CAIRN_ENOTFOUND;
	/* After ')': field 3 (state) ... field 22 (starttime). */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return CAIRN_ENOTFOUND;
	}
	char *end;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (end == p + 1)
		return CAIRN_ENOTFOUND;
	*ret = v;
	return 0;
}

void cairn_proc_id_self(struct cairn_proc_id *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (gethostname(ret->host, sizeof(ret->host) - 1) < 0)
		ret->host[0] = 0;
	read_boot_id(ret->boot_id, sizeof(ret->boot_id));
	ret->pid = getpid();
	if (cairn_proc_start_time(getpid(), &ret->start) < 0)
		ret->start = 0;
}

int cairn_proc_id_alive(const struct cairn_proc_id *p)
{
	char host[256] = "", boot[40];
	if (gethostname(host, sizeof(host) - 1) < 0 || strcmp(host, p->host) != 0)
		return CAIRN_PROC_UNKNOWN;
	read_boot_id(boot, sizeof(boot));
	if (p->boot_id[0] && boot[0] && strcmp(boot, p->boot_id) != 0)
		return CAIRN_PROC_DEAD; /* the host rebooted since */
	if (p->pid <= 0)
		return CAIRN_PROC_DEAD;
	uint64_t start;
	if (cairn_proc_start_time((pid_t)p->pid, &start) < 0)
		return CAIRN_PROC_DEAD;
	if (p->start && start != p->start)
		return CAIRN_PROC_DEAD; /* the pid was reused */
	return CAIRN_PROC_ALIVE;
}

#include "source/lvm.h"
#include "source/thin.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LVM_TIMEOUT_S 120

/* Copies field [p, end) trimmed of blanks into out; false if too long. */
static bool field(const char *p, const char *end, char *out, size_t size)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
		end--;
	if ((size_t)(end - p) >= size)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = 0;
	return true;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
	if (!*s) {
		*ret = 0;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || *s == '-')
		return false;
	*ret = v;
	return true;
}

int cairn_lvm_parse_lvs(const char *line, struct cairn_lvm_lv *ret)
{
	memset(ret, 0, sizeof(*ret));
	char f[6][128];
	const char *p = line;
	for (int i = 0; i < 6; i++) {
		const char *bar = strchr(p, '|');
		const char *end = bar ? bar : p + strlen(p);
		if ((i < 5 && !bar) || (i == 5 && bar) || !field(p, end, f[i], sizeof(f[i])))
			return cairn_error_set(CAIRN_EINVAL, "unexpected lvs output");
		p = end + 1;
	}
	uint64_t size, thin;
	if (!*f[0] || !*f[1] || !*f[2] || !parse_u64(f[4], &size) || !parse_u64(f[5], &thin) || strlen(f[2]) >= 16)
		return cairn_error_set(CAIRN_EINVAL, "unexpected lvs output");
	snprintf(ret->vg, sizeof(ret->vg), "%s", f[0]);
	snprintf(ret->lv, sizeof(ret->lv), "%s", f[1]);
	snprintf(ret->attr, sizeof(ret->attr), "%s", f[2]);
	snprintf(ret->pool, sizeof(ret->pool), "%s", f[3]);
	ret->size = size;
	ret->thin_id = thin;
	/* lv_attr's first letter: V = thin volume. */
	ret->thin = ret->attr[0] == 'V' && *ret->pool;
	return 0;
}

int cairn_lvm_lookup(const char *path, struct cairn_lvm_lv *ret)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
		return 0;
	const char *argv[] = { "lvs", "--noheadings", "--nosuffix", "--units", "b", "--separator", "|", "-o",
			       "vg_name,lv_name,lv_attr,pool_lv,lv_size,thin_id", path, NULL };
	_cleanup_(cairn_buf_freep) struct cairn_buf out = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf err = CAIRN_BUF_INIT;
	/* Not installed, or not an LV ("... not found"): not LVM. */
	if (cairn_run_capture(argv, &out, &err, LVM_TIMEOUT_S) < 0 || out.len == 0)
		return 0;
	cairn_buf_append_u8(&out, 0);
	return cairn_lvm_parse_lvs((const char *)out.data, ret) < 0 ? 0 : 1;
}

void cairn_lvm_dm_name(const char *vg, const char *lv, char *out, size_t size)
{
	size_t o = 0;
	for (int part = 0; part < 2; part++) {
		const char *s = part ? lv : vg;
		if (part && o + 1 < size)
			out[o++] = '-';
		for (; *s && o + 2 < size; s++) {
			out[o++] = *s;
			if (*s == '-')
				out[o++] = '-';
		}
	}
	out[o < size ? o : size - 1] = 0;
}

static int run(const char *const *argv)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf err = CAIRN_BUF_INIT;
	return cairn_run_capture(argv, NULL, &err, LVM_TIMEOUT_S);
}

int cairn_lvm_snapshot(const struct cairn_lvm_lv *lv, const char *name, char **ret_path)
{
	char origin[260], cow[32];
	snprintf(origin, sizeof(origin), "%s/%s", lv->vg, lv->lv);
	uint64_t c = lv->size / 4 < (64u << 20) ? 64u << 20 : lv->size / 4;
	snprintf(cow, sizeof(cow), "%llub", (unsigned long long)(c / 512 * 512));
	const char *thin[] = { "lvcreate", "-q", "-s", "-n", name, "-kn", "-ay", origin, NULL };
	const char *thick[] = { "lvcreate", "-q", "-s", "-L", cow, "-n", name, origin, NULL };
	int r = run(lv->thin ? thin : thick);
	if (r < 0)
		return cairn_error_prefix(r, "LVM snapshot of %s", origin);
	if (asprintf(ret_path, "/dev/%s/%s", lv->vg, name) < 0)
		return cairn_error_nomem();
	return 0;
}

int cairn_lvm_remove(const char *vg, const char *name)
{
	char full[260];
	snprintf(full, sizeof(full), "%s/%s", vg, name);
	const char *probe[] = { "lvs", full, NULL };
	if (run(probe) < 0)
		return 0; /* gone already */
	const char *argv[] = { "lvremove", "-q", "-f", full, NULL };
	int r = run(argv);
	return r < 0 ? cairn_error_prefix(r, "removing LVM snapshot %s", full) : 0;
}

int cairn_lvm_merge(const char *vg, const char *name)
{
	char full[260];
	snprintf(full, sizeof(full), "%s/%s", vg, name);
	const char *argv[] = { "lvconvert", "-q", "--merge", full, NULL };
	int r = run(argv);
	return r < 0 ? cairn_error_prefix(r, "merging LVM snapshot %s", full) : 0;
}

int cairn_lvm_thin_changes(const struct cairn_lvm_lv *base, const struct cairn_lvm_lv *cur, uint64_t size,
			   struct cairn_change_map *out)
{
	if (!base->thin || !cur->thin || strcmp(base->vg, cur->vg) || strcmp(base->pool, cur->pool))
		return cairn_error_set(CAIRN_EUNSUPPORTED, "thin_delta needs two thin volumes of one pool");
	char pool[300], tpool[320], tmeta[340], meta_dev[360];
	cairn_lvm_dm_name(base->vg, base->pool, pool, sizeof(pool));
	snprintf(tpool, sizeof(tpool), "%s-tpool", pool);
	snprintf(tmeta, sizeof(tmeta), "%s_tmeta", pool);
	snprintf(meta_dev, sizeof(meta_dev), "/dev/mapper/%s", tmeta);
	const char *reserve[] = { "dmsetup", "message", tpool, "0", "reserve_metadata_snap", NULL };
	const char *release[] = { "dmsetup", "message", tpool, "0", "release_metadata_snap", NULL };
	int r = run(reserve);
	if (r < 0)
		return cairn_error_prefix(r, "reserving the metadata snapshot of pool %s/%s", base->vg, base->pool);
	r = cairn_thin_delta_run(meta_dev, base->thin_id, cur->thin_id, true, size, out);
	int q = run(release);
	if (r >= 0 && q < 0)
		r = cairn_error_prefix(q, "releasing the metadata snapshot of pool %s/%s", base->vg, base->pool);
	return r;
}

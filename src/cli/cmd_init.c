#include "cli/cli.h"
#include "util/cleanup.h"
#include "state/cred.h"
#include "store/store.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>

struct init_args {
	const char *chunk, *pack, *level, *kdf, *compression;
	const char *from, *from_cred, *from_pass_file;
	const char *object_lock, *object_lock_mode;
};
static const struct cli_opt init_opts[] = {
	{ "chunk-size", 0, OPT_STRING, CLI_ARG(struct init_args, chunk) },
	{ "pack-size", 0, OPT_STRING, CLI_ARG(struct init_args, pack) },
	{ "compression", 0, OPT_STRING, CLI_ARG(struct init_args, compression) },
	{ "compression-level", 0, OPT_STRING, CLI_ARG(struct init_args, level) },
	{ "kdf-memory", 0, OPT_STRING, CLI_ARG(struct init_args, kdf) },
	{ "copy-keys-from", 0, OPT_STRING, CLI_ARG(struct init_args, from) },
	{ "from-cred", 0, OPT_STRING, CLI_ARG(struct init_args, from_cred) },
	{ "from-passphrase-file", 0, OPT_STRING, CLI_ARG(struct init_args, from_pass_file) },
	{ "object-lock", 0, OPT_STRING, CLI_ARG(struct init_args, object_lock) },
	{ "object-lock-mode", 0, OPT_STRING, CLI_ARG(struct init_args, object_lock_mode) },
	{ NULL, 0, 0, NULL, 0 },
};

static int run_init(struct cli_ctx *c)
{
	const struct init_args *a = c->args;
	struct cli_global *g = c->g;
	const char *chunk = a->chunk, *pack = a->pack, *level = a->level, *kdf = a->kdf;
	int r;
	struct cairn_init_params p = { 0 };
	uint64_t v;
	if (chunk) {
		if (cli_parse_size(chunk, &v) < 0 || v < CAIRN_CHUNK_SIZE_MIN || v > CAIRN_CHUNK_SIZE_MAX ||
		    (v & (v - 1)))
			return cli_usage("init", "invalid --chunk-size '%s' (a power of two from 4K to 16M)", chunk);
		p.chunk_size = (uint32_t)v;
	}
	if (pack) {
		if (cli_parse_size(pack, &v) < 0 || v > (1u << 30) || v < (1u << 20))
			return cli_usage("init", "invalid --pack-size '%s' (1M..1G)", pack);
		p.pack_size = (uint32_t)v;
	}
	if (level && a->compression)
		return cli_usage("init", "--compression-level is --compression zstd:N: give one of them");
	if (level) {
		char *end;
		long l = strtol(level, &end, 10);
		if (*end || l < CAIRN_COMP_ZSTD_LEVEL_MIN || l > CAIRN_COMP_ZSTD_LEVEL_MAX || l == 0)
			return cli_usage("init", "invalid --compression-level '%s' (%d..%d, not 0)", level,
					 CAIRN_COMP_ZSTD_LEVEL_MIN, CAIRN_COMP_ZSTD_LEVEL_MAX);
		p.compression = CAIRN_COMP_ZSTD;
		p.compression_level = (int)l;
	}
	if (a->compression) {
		struct cairn_comp_mode m;
		if ((r = cli_parse_compression("init", a->compression, &m)) != 0)
			return r;
		p.compression = m.algo;
		p.compression_level = m.level;
	}
	if ((r = cli_parse_kdf_memory("init", kdf, &p.scrypt_log2n)) != 0)
		return r;
	if (a->from && (chunk || pack || level || a->compression))
		return cli_usage("init", "--copy-keys-from takes chunk size, pack size and compression from the "
					 "source: give none of --chunk-size, --pack-size, --compression");
	if (!a->from && (a->from_cred || a->from_pass_file))
		return cli_usage("init", "--from-cred and --from-passphrase-file go with --copy-keys-from");
	if (a->object_lock) {
		char *end;
		long d = strtol(a->object_lock, &end, 10);
		if (end == a->object_lock || *end || d < 1 || d > CAIRN_OBJECT_LOCK_DAYS_MAX)
			return cli_usage("init", "invalid --object-lock '%s' (days, 1..%d)", a->object_lock,
					 CAIRN_OBJECT_LOCK_DAYS_MAX);
		p.object_lock_days = (uint32_t)d;
	}
	if (a->object_lock_mode) {
		int m = cairn_lock_mode_parse(a->object_lock_mode);
		if (m < 0)
			return cli_usage("init", "invalid --object-lock-mode '%s' (compliance or governance)",
					 a->object_lock_mode);
		if (!a->object_lock)
			return cli_usage("init", "--object-lock-mode needs --object-lock DAYS");
		p.object_lock_mode = (enum cairn_lock_mode)m;
	}
	const char *uri = cli_repo_uri(g);
	if (!uri)
		return cli_usage("init", "no repository given: use --repo URI or set CAIRN_REPO");
	_cleanup_(cairn_repo_freep) struct cairn_repo *family = NULL;
	if (a->from) {
		/* The source first: a wrong passphrase there leaves nothing
		 * behind at the destination. */
		struct cairn_pass_source src;
		cli_second_pass_source(false, a->from_pass_file, &src);
		struct cairn_repo_ref ref = { .uri = a->from, .cred = a->from_cred, .pass = &src,
					      .connections = g->connections };
		if ((r = cairn_app_repo_open(cli_app(g), NULL, &ref, &family)) < 0)
			return cli_fail(cairn_error_prefix(r, "source %s", a->from));
		p.family = family;
	}
	struct cairn_store *s = NULL;
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	if ((r = cli_store_open(g, uri, &s, &cred)) < 0)
		return cli_fail(r);
	char *pass = NULL;
	size_t plen = 0;
	if ((r = cairn_app_passphrase(&cli_app(g)->pass, true, cred, &pass, &plen)) < 0) {
		cairn_store_free(s);
		return cli_fail(r);
	}
	struct cairn_repo *repo = NULL;
	r = cairn_repo_init(s, pass, plen, &p, &repo);
	cli_passphrase_free(pass, plen);
	if (r < 0)
		return cli_fail(r);
	char id[33];
	cairn_hex_encode(repo->config.id, 16, id);
	if (g->json) {
		struct cairn_comp_mode m = cairn_repo_config_compression(&repo->config);
		char comp[32];
		json_t *j = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:i}", "id", id, "repository", uri, "version",
				      (int)repo->config.version, "chunk_size", (json_int_t)repo->config.chunk_size,
				      "pack_size", (json_int_t)repo->config.pack_size, "compression",
				      cairn_comp_mode_format(&m, comp, sizeof(comp)), "compression_level",
				      repo->config.compression_level);
		char fp[CAIRN_FINGERPRINT_HEX + 1], inst[33];
		cairn_hex_encode(repo->config.instance, 16, inst);
		if (j && cairn_repo_fingerprint(repo, fp) == 0) {
			json_object_set_new(j, "fingerprint", json_string(fp));
			json_object_set_new(j, "instance", json_string(inst));
			if (family)
				json_object_set_new(j, "copy_keys_from", json_string(a->from));
		}
		cli_print_json(j);
	} else if (g->verbosity >= 0) {
		fprintf(stderr, "created repository %s at %s (chunk size %u KiB)\n", id, uri,
			repo->config.chunk_size >> 10);
		if (family) {
			char fp[CAIRN_FINGERPRINT_HEX + 1];
			if (cairn_repo_fingerprint(repo, fp) == 0)
				fprintf(stderr, "same key family as %s (key fingerprint %s)\n", a->from, fp);
		}
		if (repo->config.object_lock_days)
			fprintf(stderr, "objects are locked (%s) for %u days from their write\n",
				cairn_lock_mode_name(repo->config.object_lock_mode), repo->config.object_lock_days);
	}
	cairn_repo_free(repo);
	return EXIT_OK;
}

/* Creates the repository: it opens its store itself. */
const struct cli_cmd cli_cmd_init = {
	.verb = "init", .run = run_init, .opts = init_opts, .args_size = sizeof(struct init_args), .pos_max = 0,
};

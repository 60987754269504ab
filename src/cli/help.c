/* Help texts, one per verb, in the manner of a man page. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char overview[] =
	"usage: cairn [GLOBAL OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"cairn backs up block volumes (image files, block devices) incrementally,\n"
	"deduplicated, compressed and encrypted, into a repository.\n"
	"\n"
	"Commands:\n"
	"  init                 create a repository\n"
	"  backup SOURCE        back up a volume; prints the new backup id\n"
	"  list                 list backups\n"
	"  restore BACKUP TARGET  restore a backup to a file or block device\n"
	"  check                verify the repository (--read-data: every byte)\n"
	"  diff A B             changed byte ranges between two backups\n"
	"  key add|list|remove  manage the passphrases that open the repository\n"
	"  repair index         rebuild the index from the packs\n"
	"  help [COMMAND]       show help\n"
	"\n"
	"Global options (before or after the command):\n"
	"  -r, --repo URI           repository (env CAIRN_REPO): /path, file:///path,\n"
	"                           s3://BUCKET/PREFIX[?endpoint=URL&region=R],\n"
	"                           gs://BUCKET/PREFIX or\n"
	"                           azure://ACCOUNT/CONTAINER/PREFIX[?endpoint=URL]\n"
	"                           (see Repositories below)\n"
	"      --passphrase-file F  read the passphrase from F (env CAIRN_PASSPHRASE_FILE);\n"
	"                           else env CAIRN_PASSPHRASE, else a terminal prompt\n"
	"      --state-dir DIR      local state, e.g. the change-tag cache that lets\n"
	"                           a backup skip hashing unchanged chunks (env\n"
	"                           CAIRN_STATE_DIR; default /var/lib/cairn for root)\n"
	"      --json               machine-readable output on stdout\n"
	"  -q, --quiet              errors only, no progress\n"
	"  -v, --verbose            more detail on stderr (-vv: debug)\n"
	"  -h, --help               help for cairn or for a command\n"
	"\n"
	"BACKUP names a backup: its id, a unique prefix of it, 'latest', or\n"
	"'VOLUME@latest'.\n"
	"\n"
	"Repositories in object storage: s3:// is AWS S3 or any S3-compatible\n"
	"server, gs:// Google Cloud Storage (XML API, HMAC keys).  URI parameters:\n"
	"endpoint=URL (default AWS, or https://storage.googleapis.com), region=R\n"
	"(default AWS_REGION, AWS_DEFAULT_REGION, us-east-1; gs: auto),\n"
	"style=path|virtual, part_size=SIZE (default 8M), multipart_threshold=SIZE\n"
	"(default 32M), max_keys=N.  Keys: AWS_ACCESS_KEY_ID and\n"
	"AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN); for gs:// GOOGLE_HMAC_ACCESS_KEY\n"
	"and GOOGLE_HMAC_SECRET first.  Plain http:// only when the URI's endpoint\n"
	"says so (or a credential disables SSL); TLS certificates are always\n"
	"verified.  'cairn init' creates the bucket if it is missing.\n"
	"\n"
	"azure:// is Azure Blob Storage: azure://ACCOUNT/CONTAINER/PREFIX, endpoint\n"
	"default https://ACCOUNT.blob.core.windows.net (an emulator's endpoint names\n"
	"the account in its path: http://127.0.0.1:10000/devstoreaccount1).  URI\n"
	"parameters: endpoint=URL, block_size=SIZE (default 8M), block_threshold=SIZE\n"
	"(default 32M), max_results=N.  Credentials: AZURE_STORAGE_KEY (the account\n"
	"key) or AZURE_STORAGE_SAS_TOKEN; AZURE_STORAGE_ACCOUNT, if set, must name the\n"
	"URI's account.  'cairn init' creates the container if it is missing.\n"
	"\n"
	"Environment: CAIRN_THREADS sets the number of worker threads (default:\n"
	"one per core).  For object storage: CAIRN_HTTP_MAX_ATTEMPTS (default 8),\n"
	"CAIRN_HTTP_RETRY_SECONDS (120), CAIRN_HTTP_STALL_SECONDS (60) and\n"
	"CAIRN_HTTP_BACKOFF_MS (100) bound the retries; CAIRN_HTTP_STATS=FILE\n"
	"appends the HTTP counters of each run to FILE.\n"
	"\n"
	"Exit status: 0 success; 1 failure (one line on stderr); 2 usage error;\n"
	"3 check found damage.\n";

static const struct {
	const char *verb;
	const char *text;
} verbs[] = {
	{ "init",
	  "usage: cairn init --repo URI [--chunk-size SIZE] [--pack-size SIZE] [--compression-level N]\n"
	  "\n"
	  "Creates a repository: a random master key wrapped by the passphrase\n"
	  "(scrypt), and a configuration that fixes the chunk size for good.\n"
	  "The passphrase is asked twice on a terminal, or read from\n"
	  "--passphrase-file, CAIRN_PASSPHRASE_FILE or CAIRN_PASSPHRASE.\n"
	  "\n"
	  "  --chunk-size SIZE        4K..16M, a power of two (default 64K; see\n"
	  "                           docs/benchmarks.md for why)\n"
	  "  --pack-size SIZE         target size of pack objects (default 16M)\n"
	  "  --compression-level N    zstd level for chunks (default 1; negative = faster)\n"
	  "\n"
	  "Fails if the location already holds a repository.  In object storage\n"
	  "(s3://, gs://) the bucket is created when it does not exist.\n" },
	{ "backup",
	  "usage: cairn backup SOURCE [--name NAME] [--full] [--tag TAG]...\n"
	  "\n"
	  "Backs up SOURCE (an image file or a block device) as a new backup of\n"
	  "volume NAME (default: the base name of SOURCE).  Only chunks the\n"
	  "repository does not hold yet are stored; every backup is nevertheless\n"
	  "a complete restore point.  The previous backup of the volume becomes\n"
	  "the new one's parent.\n"
	  "\n"
	  "Prints the new backup id on stdout and a summary on stderr (bytes\n"
	  "read, new, stored, duration); --json prints the summary as one object\n"
	  "with id, volume, created, size, bytes_read, bytes_new, bytes_stored,\n"
	  "chunks_new, seconds, change_tracking and parent.\n"
	  "\n"
	  "  --name NAME   volume name (no '/' or '@')\n"
	  "  --full        re-read and re-hash the whole source, trusting no local\n"
	  "                state (without it, chunks whose keyed change tag matches\n"
	  "                the previous backup's reuse its id; both read everything:\n"
	  "                change_tracking is full-read)\n"
	  "  --tag TAG     label the backup (repeatable)\n"
	  "\n"
	  "An interrupted backup leaves no backup behind; the next run reuses the\n"
	  "packs it had already written.\n" },
	{ "list",
	  "usage: cairn list [--volume NAME]\n"
	  "\n"
	  "Lists backups, oldest first: VOLUME, ID, CREATED, SIZE, NEW DATA, TAGS.\n"
	  "--json prints an array of objects with id, volume, created (RFC 3339),\n"
	  "size, bytes_new, bytes_stored, tags, parent, change_tracking.\n"
	  "Exits 1 if a backup's manifest is damaged (after listing the others).\n" },
	{ "restore",
	  "usage: cairn restore BACKUP TARGET [--force]\n"
	  "\n"
	  "Restores BACKUP to TARGET, a file (created sparse: zero chunks stay\n"
	  "holes) or a block device (zero chunks are zeroed).  Every chunk is\n"
	  "authenticated and its id recomputed before it is written; damage stops\n"
	  "the restore with an error.  A file is written under a temporary name\n"
	  "and renamed into place when complete.\n"
	  "\n"
	  "Refuses an existing non-empty TARGET unless --force, a device that is\n"
	  "mounted or in use, and a device smaller than the volume.\n"
	  "\n"
	  "  --force   overwrite a non-empty target\n" },
	{ "check",
	  "usage: cairn check [--read-data]\n"
	  "\n"
	  "Verifies the repository: every index object opens, every pack's table\n"
	  "of contents opens and agrees with the index, every backup's tree is\n"
	  "complete and every chunk it names is indexed.  With --read-data every\n"
	  "blob is also read, decrypted, decompressed and its id recomputed.\n"
	  "\n"
	  "Each problem is printed on stdout with the object it concerns, then\n"
	  "every backup it touches.  Exit status 3 when damage was found.\n" },
	{ "diff",
	  "usage: cairn diff A B\n"
	  "\n"
	  "Prints the byte ranges (OFFSET LENGTH, in bytes) that differ between\n"
	  "backups A and B of one volume, computed from their trees without\n"
	  "reading data (like EBS ListChangedBlocks).  The cost follows the\n"
	  "number of changed tree nodes, not the volume size.  --json prints\n"
	  "{a, b, size_a, size_b, changed_bytes, ranges: [{offset, length}]}.\n" },
	{ "key",
	  "usage: cairn key add [--new-passphrase-file F]\n"
	  "       cairn key list\n"
	  "       cairn key remove KEY-ID\n"
	  "\n"
	  "A repository's master key can be wrapped by several passphrases.\n"
	  "'add' wraps it with a new one (from --new-passphrase-file,\n"
	  "CAIRN_NEW_PASSPHRASE_FILE, CAIRN_NEW_PASSPHRASE or a prompt); 'list'\n"
	  "shows the keys; 'remove' deletes one, but never the one in use.\n" },
	{ "repair",
	  "usage: cairn repair index\n"
	  "\n"
	  "Rebuilds the index from the tables of contents of all packs, writes it\n"
	  "as one new index object and then removes the old index objects.  Use\n"
	  "it when check reports damaged or missing index objects.\n" },
};

void cli_help(const char *verb)
{
	if (verb)
		for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			if (strcmp(verbs[i].verb, verb) == 0) {
				fputs(verbs[i].text, stdout);
				fputs("\nGlobal options: see 'cairn --help'.\n", stdout);
				return;
			}
	fputs(overview, stdout);
}

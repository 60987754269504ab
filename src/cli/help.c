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
	"  cred create|list|delete  credentials for object stores (secrets never shown)\n"
	"  help [COMMAND]       show help\n"
	"\n"
	"Global options (before or after the command):\n"
	"  -r, --repo URI           repository: /path or file:///path (env CAIRN_REPO)\n"
	"      --passphrase-file F  read the passphrase from F (env CAIRN_PASSPHRASE_FILE);\n"
	"                           else env CAIRN_PASSPHRASE, else the encryption\n"
	"                           passphrase of the credential in use, else a prompt\n"
	"      --state-dir DIR      local state, e.g. the change-tag cache that lets\n"
	"                           a backup skip hashing unchanged chunks (env\n"
	"                           CAIRN_STATE_DIR; default /var/lib/cairn for root)\n"
	"                           and the credentials ('cairn cred --help')\n"
	"      --cred REF           the credential for an object-store repository: its\n"
	"                           UUID, a unique UUID prefix or its name (env\n"
	"                           CAIRN_CRED); default: the only stored credential of\n"
	"                           the repository's provider\n"
	"      --connections N      parallel transfers to an object store (1..1024;\n"
	"                           default: the driver's, 8)\n"
	"      --limit-upload RATE  upload at most RATE bytes per second over all\n"
	"                           connections, e.g. 10M (MiB/s) or 500K; 0 = no limit\n"
	"      --json               machine-readable output on stdout\n"
	"  -q, --quiet              errors only, no progress\n"
	"  -v, --verbose            more detail on stderr (-vv: debug)\n"
	"  -h, --help               help for cairn or for a command\n"
	"\n"
	"BACKUP names a backup: its id, a unique prefix of it, 'latest', or\n"
	"'VOLUME@latest'.\n"
	"\n"
	"Environment: CAIRN_THREADS sets the number of worker threads (default:\n"
	"one per core); CAIRN_STATE_KEY_FILE the key that seals stored secrets\n"
	"(default STATE_DIR/secret.key).\n"
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
	  "Fails if the location already holds a repository.\n" },
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
	{ "cred",
	  "usage: cairn cred create --provider s3|azure|google [OPTIONS]\n"
	  "       cairn cred list\n"
	  "       cairn cred delete UUID\n"
	  "\n"
	  "A credential is an immutable set of object-store secrets plus an optional\n"
	  "repository encryption passphrase, named by a random UUID.  'create' stores\n"
	  "one and prints its UUID; 'list' shows the stored credentials without their\n"
	  "secrets; 'delete' removes one.  Nothing changes a credential: delete it and\n"
	  "create it again.  See 'cairn help cred create' for the options.\n"
	  "\n"
	  "Credentials live in STATE_DIR/state.db (SQLite, mode 0600, directory 0700).\n"
	  "Every secret in it is sealed with AES-256-GCM under a key kept outside the\n"
	  "database, STATE_DIR/secret.key (32 random bytes, 0600, made by the first\n"
	  "'cred create'), or the file CAIRN_STATE_KEY_FILE names, so a copy of the\n"
	  "database alone reveals no secret.  Keep the key file: without it the\n"
	  "stored secrets cannot be decrypted, and only deleting those credentials\n"
	  "lets new ones be created.\n"
	  "\n"
	  "Using a credential: an s3://, gs:// or azure:// repository is opened with\n"
	  "--cred REF (or CAIRN_CRED), else with the only stored credential of that\n"
	  "provider; with none stored the driver's own defaults apply, with several\n"
	  "--cred is required.  REF is a full UUID, a credential's name, or a unique\n"
	  "prefix of at least 4 characters of its UUID.  A credential of another\n"
	  "provider than the URI's scheme is refused before any connection is made.\n"
	  "Local repositories need no credential, but use the encryption passphrase\n"
	  "of one named with --cred or CAIRN_CRED.\n"
	  "\n"
	  "The repository passphrase is the first of: --passphrase-file,\n"
	  "CAIRN_PASSPHRASE_FILE, CAIRN_PASSPHRASE, the credential's encryption\n"
	  "passphrase, a terminal prompt.\n"
	  "\n"
	  "Secrets are never printed: not by list, not with --json, not in errors\n"
	  "or with -v.\n" },
	{ "cred create",
	  "usage: cairn cred create --provider s3|azure|google [--name NAME] [OPTIONS]\n"
	  "\n"
	  "Stores a new credential and prints its UUID (--json: the object 'cred\n"
	  "list --json' shows for it).  Each secret comes from its option, from the\n"
	  "file its -file option names (one trailing newline is dropped), or from\n"
	  "the environment variable shown, in that order.  A secret given as an\n"
	  "argument is wiped from the process's arguments at once, but was visible\n"
	  "to `ps` until then: prefer the file or the environment.\n"
	  "\n"
	  "  --provider P                   s3 (and S3-compatible stores), azure or google\n"
	  "  --name NAME                    optional unique label usable as REF: letters,\n"
	  "                                 digits, '.', '_', '-', not only hex digits\n"
	  "\n"
	  "  S3 (required: access key and secret key)\n"
	  "  --s3-access-key ID             access key id (shown by list)\n"
	  "  --s3-secret-key KEY            secret key; --s3-secret-key-file F,\n"
	  "                                 env CAIRN_S3_SECRET_KEY\n"
	  "  --s3-region R                  region (the driver's default: us-east-1)\n"
	  "  --s3-endpoint URL              https://HOST[:PORT], http://HOST[:PORT] or\n"
	  "                                 HOST[:PORT] for S3-compatible stores; an\n"
	  "                                 ?endpoint= in the repository URI wins\n"
	  "  --s3-disable-ssl               plain HTTP to the endpoint\n"
	  "\n"
	  "  Azure Blob (required: account name, and the key or a SAS token)\n"
	  "  --azure-account-name NAME      storage account (3-24 lowercase letters, digits)\n"
	  "  --azure-account-key KEY        base64 Shared Key; --azure-account-key-file F,\n"
	  "                                 env CAIRN_AZURE_ACCOUNT_KEY\n"
	  "  --azure-sas TOKEN              SAS token instead of the key (a leading '?'\n"
	  "                                 is dropped); --azure-sas-file F,\n"
	  "                                 env CAIRN_AZURE_SAS\n"
	  "\n"
	  "  Google Cloud Storage, through its XML API with HMAC keys (all required)\n"
	  "  --google-project-id ID         project that owns the buckets\n"
	  "  --google-hmac-access-key ID    HMAC access id (shown by list)\n"
	  "  --google-hmac-secret SECRET    HMAC secret; --google-hmac-secret-file F,\n"
	  "                                 env CAIRN_GOOGLE_HMAC_SECRET\n"
	  "\n"
	  "  --encryption-passphrase P      repository passphrase to use with this\n"
	  "                                 credential; --encryption-passphrase-file F,\n"
	  "                                 env CAIRN_ENCRYPTION_PASSPHRASE\n"
	  "\n"
	  "Only the chosen provider's variables are read.  A missing required field,\n"
	  "a field of another provider, or a malformed value is a usage error (exit\n"
	  "2) that names the option, never the value.\n" },
	{ "cred list",
	  "usage: cairn cred list\n"
	  "\n"
	  "Lists the stored credentials, oldest first, with their non-secret fields:\n"
	  "UUID, NAME, PROVIDER, REGION/ACCOUNT (S3 region, Azure account or Google\n"
	  "project), ENDPOINT, ACCESS KEY (S3 or Google HMAC access id), SSL (no for\n"
	  "--s3-disable-ssl or an http:// endpoint) and ENCRYPTION (whether it holds\n"
	  "an encryption passphrase); '-' where a field is unset.  --json prints an\n"
	  "array of objects with uuid, name, provider, created (RFC 3339),\n"
	  "access_key, region, endpoint, ssl, account, azure_auth (key or sas),\n"
	  "project_id and encryption; null where a field does not apply.  Never\n"
	  "decrypts anything: it works without the key file.\n" },
	{ "cred delete",
	  "usage: cairn cred delete UUID\n"
	  "\n"
	  "Deletes a credential: UUID is its full UUID, its name, or a unique\n"
	  "prefix of at least 4 characters.  Its sealed secrets are overwritten in\n"
	  "the database file (SQLite secure_delete).  Repositories are not touched.\n"
	  "An unknown or ambiguous UUID is an error and deletes nothing.\n" },
	{ "repair",
	  "usage: cairn repair index\n"
	  "\n"
	  "Rebuilds the index from the tables of contents of all packs, writes it\n"
	  "as one new index object and then removes the old index objects.  Use\n"
	  "it when check reports damaged or missing index objects.\n" },
};

void cli_help(const char *verb)
{
	size_t len = verb ? strlen(verb) : 0;
	for (int pass = 0; verb && pass < 2; pass++) {
		for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			if (strlen(verbs[i].verb) == len && strncmp(verbs[i].verb, verb, len) == 0) {
				fputs(verbs[i].text, stdout);
				fputs("\nGlobal options: see 'cairn --help'.\n", stdout);
				return;
			}
		/* "cred frob": the verb's own text. */
		len = strcspn(verb, " ");
	}
	fputs(overview, stdout);
}

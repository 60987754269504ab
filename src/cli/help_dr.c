/* Help texts of export-details, import, repos and dr (cli_help() asks
 * here first). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct cli_help_text texts[] = {
	{ "export-details",
	  "usage: cairn export-details --repo URI [--volume V | --group G] [--with-policies] [--json]\n"
	  "\n"
	  "Prints one line, a token that names the repository for a disaster-\n"
	  "recovery host: its URI without secrets (no user info; of the query only\n"
	  "endpoint, region, style and the drivers' sizes), its id, its key\n"
	  "fingerprint, and the volumes and groups it holds (each with its count of\n"
	  "backups and its newest).  --volume and --group restrict it to one\n"
	  "volume, or one group and its members.  --with-policies adds, from this\n"
	  "host's state, the definitions of those groups (volumes, names, mount\n"
	  "points to freeze, hooks, the config document's path) and the policies\n"
	  "that protect them in this repository.  The token never holds a key, a\n"
	  "passphrase or a credential secret; the DR host brings its own.\n"
	  "\n"
	  "The token is 'cairn1:', the document in base64url, '.' and a checksum:\n"
	  "a truncated paste is refused by import.  --json prints the document.\n" },
	{ "import",
	  "usage: cairn import TOKEN [--cred REF] [--as NAME] [--every INTERVAL] [--json]\n"
	  "       cairn import --list\n"
	  "\n"
	  "Opens the repository a token from 'cairn export-details' names (TOKEN,\n"
	  "or - to read it from stdin), with --cred and the passphrase sources as\n"
	  "usual, checks that its id and key fingerprint are the token's (else:\n"
	  "\"repository at URI is not the one exported: ...\"), and registers it in\n"
	  "the state database under NAME (--as; default repo-<8 hex digits of its\n"
	  "id>), with the token's groups and its policies, created paused: nothing\n"
	  "runs here until 'cairn policy resume'.  Groups and policies of the same\n"
	  "name already here are kept as they are (and said so).  A group's config\n"
	  "document missing at its path here is taken from its newest group backup\n"
	  "and written under STATE_DIR/imported/GROUP/.\n"
	  "\n"
	  "After it, --repo NAME stands for the repository's URI and credential\n"
	  "(a value without '/' that is a registered name), and when it is the only\n"
	  "registered repository, so does no --repo at all: list, restore, group\n"
	  "restore and backup need no URI.\n"
	  "\n"
	  "Importing the same token again changes nothing and says so.  --every\n"
	  "INTERVAL (an import policy): 'cairn daemon' re-reads the repository's\n"
	  "restore points that often, as a job of kind import whose log has a line\n"
	  "per backup that arrived ('cairn repos sync NAME' does it now).\n"
	  "--list: as 'cairn repos list'.  The alias is printed on stdout; --json\n"
	  "prints {name, uri, changed, actions}.\n" },
	{ "repos",
	  "usage: cairn repos list [--json]\n"
	  "       cairn repos sync NAME\n"
	  "       cairn repos remove NAME\n"
	  "\n"
	  "The repositories registered by 'cairn import': list them (name, id,\n"
	  "newest restore point read, backups, schedule, URI); sync re-reads one\n"
	  "now as a job of kind import and logs each backup that arrived since\n"
	  "the last read (by creation time); remove forgets the registration (the\n"
	  "repository, the groups and the policies stay).\n" },
	{ "dr",
	  "usage: cairn dr report [--json]\n"
	  "       cairn dr failover (--policy P | --standby NAME) [--at BACKUP] [--json]\n"
	  "       cairn dr failback --policy P --to PRIMARY_URI [--to-cred REF]\n"
	  "                         [--volume-target PATH|DEVICE|DIR] [--json]\n"
	  "\n"
	  "The disaster-recovery report.  For every volume and group a policy\n"
	  "protects or a known repository holds: the newest restore point in each\n"
	  "repository (the policies' own, those registered by import, the\n"
	  "destinations of copy jobs; one that does not open is shown as\n"
	  "\"unreachable: reason\"), the RPO now (the age of the newest off-site\n"
	  "restore point: one in a repository other than the policy's own), the\n"
	  "policy's target ('policy create --rpo'), the last copy's duration and\n"
	  "bytes, and an RTO estimate (the restore point's size over the rate of\n"
	  "the last restore from that repository).  The target of a paused policy\n"
	  "of a registered repository (imported, waiting for failover) is shown,\n"
	  "not checked.\n"
	  "\n"
	  "Exit status: 0 every target met; 1 a target is breached (the BREACHED\n"
	  "lines come first) or an error; for a monitoring check.  --json also\n"
	  "lists the failovers (when, which restore point, the RTO measured, how\n"
	  "far failback got).\n"
	  "\n"
	  "failover (on the DR host): the standby of policy P's volume (or NAME)\n"
	  "takes no more scheduled updates, is brought to the newest restore point\n"
	  "that has arrived (or --at BACKUP) and handed over: where the volume is\n"
	  "(for a group, the directory with the config document) is printed, with\n"
	  "the RTO.  The policies imported from the primary (P; with --standby the\n"
	  "paused ones of its volume) are resumed against the repository the\n"
	  "standby reads from, with the standby's image as their source and the\n"
	  "volume's name: their next backup is an incremental.  Again: says it is\n"
	  "failed over already.\n"
	  "\n"
	  "failback: copies P's volume from the DR repository to PRIMARY_URI\n"
	  "(incremental), restores its newest restore point by delta onto the\n"
	  "primary volume (P's source before failover, or --volume-target; only\n"
	  "what differs is written, and reported), and switches P back as it was.\n"
	  "Each step is recorded: a rerun after a kill continues; once done, a\n"
	  "rerun says it is failed back already.\n"
	  "A group policy (failed over to a group standby, its group pointed at\n"
	  "the standby's images with --volume-name as the primary's members):\n"
	  "the group's backups are copied (each with all its members), each member\n"
	  "of the newest group backup is restored by delta onto the member volume\n"
	  "recorded at failover (or DIR/VOLUME with --volume-target DIR), and P and\n"
	  "the group's members are switched back.  --json: restore.members lists\n"
	  "each member's target and bytes written.\n"
	  "\n"
	  "Each item also shows its last recovery drill ('cairn drill'): when, its\n"
	  "result and the measured RTO, or \"never drilled\"; a failed last drill\n"
	  "is a breach (\"last drill failed ...\").\n" },
	{ "drill",
	  "usage: cairn drill (--volume V | --group G) [--repo URI] [--at BACKUP]\n"
	  "                   [--scratch DIR] [--verify-command CMD]\n"
	  "                   [--every INTERVAL|off] [--json]\n"
	  "       cairn drill list [--json]\n"
	  "       cairn drill run volume:NAME|group:NAME\n"
	  "\n"
	  "A recovery drill: restores the newest restore point of volume V (its\n"
	  "name in the repository, as 'cairn list' shows it) or of group G, or\n"
	  "the one --at names, to a new directory in the scratch directory, checks\n"
	  "it, records the result and removes the scratch copy (also on failure\n"
	  "and on Ctrl-C).  A backup that has never been restored is a hope.\n"
	  "\n"
	  "The repository: --repo (or CAIRN_REPO, or an alias from 'cairn import'),\n"
	  "else the only repository registered by import.  The scratch directory:\n"
	  "--scratch DIR, else STATE_DIR/drills; one without room for the images\n"
	  "(estimated from the backups' sizes and, for a full backup, the data it\n"
	  "read: images are sparse) is refused.\n"
	  "\n"
	  "The check: libblkid finds the file system of each restored image;\n"
	  "ext2/3/4 is checked with 'e2fsck -fn', XFS with 'xfs_repair -n -f'\n"
	  "(read-only); no file system found (or another type) passes with the note\n"
	  "\"restore verified by ids only\" (every chunk was verified against its id\n"
	  "on restore).  --verify-command CMD runs CMD (/bin/sh -c, cairn's\n"
	  "environment without its secrets) instead, once per image, with\n"
	  "CAIRN_DRILL_IMAGE (the image's path) and CAIRN_DRILL_VOLUME; exit 0\n"
	  "passes.  A group checks each member.\n"
	  "\n"
	  "Measured: restore seconds and bytes, check seconds; their sum is the\n"
	  "RTO.  Each drill is a job of kind drill and a row that 'drill list' and\n"
	  "'dr report' show.  --every INTERVAL (e.g. 1w) also makes a schedule that\n"
	  "'cairn daemon' runs ('drill run'); --every off removes it.\n"
	  "\n"
	  "Exit status: 0 the drill passed; 1 the check (or the restore) failed,\n"
	  "one line on stderr naming the verdict, or it could not run; 2 usage.\n" },
};

bool cli_help_dr(const char *verb)
{
	size_t len = strcspn(verb, " ");
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strcmp(texts[i].verb, verb) != 0 && (strlen(texts[i].verb) != len ||
							 strncmp(texts[i].verb, verb, len) != 0))
			continue;
		fputs(texts[i].text, stdout);
		fputs("\nGlobal options: see 'cairn --help'.\n", stdout);
		return true;
	}
	return false;
}

/* cairn repository format, version 1.
 *
 * This comment is the specification; code and comment change together.
 *
 * OBJECTS
 *   A repository is a flat set of write-once objects in a store (a directory,
 *   a bucket prefix).  Names, the letter that starts the additional data
 *   they are sealed with (CRYPTO), and the most bytes an object may have:
 *
 *     config                  repository configuration (one)        C    64 KiB
 *     keys/<16 hex>           the master secret wrapped by one      K  116 bytes
 *                             passphrase
 *     packs/<2 hex>/<64 hex>  packs: many blobs (B) plus their      T   (ranges)
 *                             table of contents (T)
 *     index/<64 hex>          index objects: blob id -> pack,       I   456 MiB
 *                             offset, length
 *     backups/<32 hex>        manifests, one per backup, written    M     1 MiB
 *                             last
 *     groups/<32 hex>         group backup objects (GROUP)          G    24 MiB
 *     holds/<32 hex>          holds: backups exempt from retention  H    64 KiB
 *     lease/<32 hex>          prune's exclusive lease (at most one  L    64 KiB
 *                             live)
 *     running/<32 hex>        activity markers of running backups,  R    64 KiB
 *                             restores
 *
 *   This table is repo/kinds.c (the kinds, their names, letters and
 *   caps; the letters are CAIRN_AAD_* below); the layers above repo/
 *   reach objects through it, by kind and id.
 *
 *   The caps (CAIRN_*_OBJECT_MAX below) are far above what cairn writes:
 *   a config is about 250 bytes, a manifest, hold,
 *   lease or marker under 1 KiB (a manifest with a thousand tags of 200
 *   bytes about 200 KiB; writers refuse to exceed a cap), a group object its
 *   config document (at most 16 MiB, 22 MiB as base64) with its member list;
 *   index objects see INDEX.  An object is measured before it is read: by
 *   the size its listing gave, else by asking for one byte more than the
 *   cap; a larger one is damage, never read (a manifest, index or group
 *   object, or config that does not open; a hold, lease or marker that does
 *   not open, which still counts as one).  Packs are read by ranges that
 *   their table of contents and the index bound.
 *
 *   Hex is lower case, of exactly that many digits, and a pack's directory
 *   is the first two digits of its name (repo/kinds.c): each object has
 *   one name.  A name under these prefixes spelt otherwise (upper case,
 *   another length, more components) is not an object: readers skip it,
 *   so that it can neither double an object nor stand in for one, and
 *   `cairn check` reports it as damage without touching it.
 *
 *   Pack, index, key, lease and marker names are random; a backup's name is
 *   its id, a hold's the id of the backup it holds.  Objects are never
 *   modified after they are written, so many writers need no locks; the one
 *   exception is a hold, which `cairn hold` may replace whole (a new
 *   reason).  Objects are deleted only by forget (manifests, group objects),
 *   release (holds), their owners (leases, markers), prune (packs, index
 *   objects, stale leases and markers, following PRUNE below), repair index
 *   (the index objects it replaces) and init (the keys an init killed before
 *   its config left, once its own config is written, on stores whose
 *   create-only put is atomic; open skips such keys anyway: a key opens
 *   the repository only if its master key authenticates the config).
 *   In a repository with object lock (OBJECT LOCK) some of these deletes
 *   wait for a date or are refused.
 *   All integers are little-endian.
 *
 * CRYPTO
 *   M        32 random bytes made at init: the master secret.
 *   EK       = HKDF-SHA256(M, info "cairn v1 encryption"), 32 bytes.
 *   IK       = HKDF-SHA256(M, info "cairn v1 id"), 32 bytes.
 *   id(x)    = HMAC-SHA256(IK, x), 32 bytes: the id of a chunk or tree node.
 *   FP       = HKDF-SHA256(M, info "cairn v1 fingerprint"), 16 bytes: the
 *            key fingerprint (32 hex digits), never stored; the same in
 *            every repository that shares M (a key family).
 *   seal(K, A, P) = nonce(12, random) || AES-256-GCM(K, nonce, aad A, P) || tag(16)
 *
 *   Every object but the key objects and the config header is sealed with
 *   EK.  The additional data A starts with one letter naming the object's
 *   type, so no object can be passed off as another kind: 'B' blob, 'T' pack
 *   table of contents, 'I' index, 'M' manifest, 'C' config, 'G' group
 *   backup, 'H' hold, 'L' lease, 'R' activity marker (the letters of
 *   OBJECTS; key objects use 'K' with their own key).  Nothing read
 *   from a repository is parsed before its tag has been verified, except the
 *   fixed-size headers of key and config objects, whose fields are in turn
 *   bound into the additional data of what they precede.
 *
 * KEY OBJECT  keys/<kid>   (fixed size, 116 bytes)
 *     magic "CAIRNKEY" (8) | format version u32 (=1) | scrypt log2(N) u8 |
 *     r u8 | p u8 | reserved u8 (0) | salt (32) | created unix seconds u64 |
 *     wrapped (60) = seal(KEK, A = "K" || the 56 bytes before it, M)
 *   KEK = scrypt(passphrase, salt, N, r, p), 32 bytes.  cairn writes r = 8,
 *   p = 1 and N = 2^15 (32 MiB, ~0.25 s of CPU here) unless `init` or `key
 *   add --kdf-memory` choose N from 2^14 to 2^20 (16 MiB to 1 GiB); readers
 *   refuse log2(N) outside 10..22, r > 32, p > 4, and any cost above 4 GiB
 *   of memory (128 * N * r).  Several key objects may wrap the same M
 *   (cairn key add).  Opening reads only objects of exactly this size
 *   (others are skipped with a warning, unread), at most 1024 of them, and
 *   tries them cheapest first (by 128 * N * r * p), spending at most 2 GiB
 *   of that work in all (64 keys of the default cost, or one of 1 GiB and
 *   32 of the default): a store can neither make an open read a huge
 *   object nor run scrypt without end.
 *
 * CONFIG  config
 *     magic "CAIRNCFG" (8) | format version u32 | sealed body
 *   sealed with A = "C" || the 12 header bytes.  The body is JSON:
 *     {"version":1, "id":"<32 hex>", "created":"<RFC 3339>",
 *      "chunk_size":N, "pack_size":N, "tree_fanout":N,
 *      "compression":"auto", "compression_level":N,
 *      "instance":"<32 hex>",
 *      "object_lock_days":N, "object_lock_mode":"compliance"}
 *   A reader first checks the magic (else: not a repository) and the version
 *   (else: refuses with the version it found), before any key is tried.
 *   chunk_size is a power of two between 4 KiB and 16 MiB, fixed at init.
 *   compression is what backups write by default (`init --compression`;
 *   `backup --compression` overrides it per backup): "auto" (zstd at the
 *   level this cairn chooses; compression_level 0), "zstd" (at
 *   compression_level, -100..22, not 0), "lz4" or "none" (level 0).  Blobs
 *   record their own algorithm (BLOB), so readers need none of this.
 *   Repositories made before the choice existed say "zstd" with their level.
 *   instance (optional) tells apart the repositories of one key family
 *   (`init --copy-keys-from`: same id, same M, its own key objects), which
 *   writes a random one; without it the instance is the id.  Hosts key
 *   their local state (index and change-tag caches, snapshot bases, the
 *   record of backups seen) by the instance, never by the id: a cache of
 *   one member used for another would let a backup deduplicate against
 *   blobs only the first holds.
 *   object_lock_days (1..36500) and object_lock_mode ("compliance" or
 *   "governance") come together or not at all: present only in a
 *   repository made with `init --object-lock` (OBJECT LOCK).
 *
 * OBJECT LOCK  (S3 Object Lock; `init --object-lock DAYS`)
 *   The bucket is made with Object Lock enabled (which turns versioning
 *   on); init refuses a bucket that exists without it, and stores with no
 *   per-object retention (local, Azure: Azurite implements no immutability
 *   policy or legal hold) refuse the option.  Every object of a locked
 *   kind is put with x-amz-object-lock-mode (COMPLIANCE unless
 *   object_lock_mode says governance), x-amz-object-lock-retain-until-date
 *   = the time of the put + object_lock_days, and Content-MD5; a multipart
 *   upload carries them on CreateMultipartUpload and the retention is set
 *   again on the completed object (PutObjectRetention, same date), since
 *   Ceph RGW 16 drops it from the upload; a pack copied on the server side
 *   (`cairn copy`) gets it by PutObjectRetention too.
 *     locked:      config, keys/, packs/, backups/, groups/: what a restore
 *                  needs and a ransomware would delete
 *     not locked:  index/ (rebuilt from the packs by `repair index`; prune
 *                  replaces it), holds/ (`cairn hold` replaces one,
 *                  release deletes it), lease/ and running/ (deleted by
 *                  their owners)
 *   COMPLIANCE: no credential, the bucket owner's included, deletes or
 *   overwrites an object version before its date: the point of an
 *   immutable copy.  GOVERNANCE lets a user with
 *   s3:BypassGovernanceRetention do so (cairn never sends the bypass).
 *   Deletes in such a store are by version: HEAD gives the current
 *   version and its date; one still retained is refused without a request
 *   (CAIRN_EPERM naming the date); otherwise DELETE ?versionId= removes it,
 *   and older versions after it, so no delete marker or noncurrent
 *   version is left behind.  A plain DELETE by anyone else only adds a
 *   delete marker: the locked versions stay readable by version id.
 *   forget refuses a backup whose manifest (or group object, or a
 *   member's manifest) is retained, naming the date; retention rules keep
 *   such a backup ("under object lock until DATE").  prune asks the date
 *   of every pack it would condemn or repack and keeps the retained ones
 *   live (they are counted and reported); a condemned pack whose delete
 *   is refused stays condemned for a later prune.  Object lock needs no
 *   other format change: readers ignore it.
 *
 * APPEND-ONLY CREDENTIALS
 *   A credential the server refuses deletes (AccessDenied, CAIRN_EPERM):
 *   backups and copies only add objects, and a backup's activity marker
 *   that cannot be deleted is left (it is not live once its process is
 *   gone; a prune with a full credential deletes it).  forget and prune
 *   first delete a marker name nobody holds (random: nothing is removed;
 *   in a locked store DELETE ?versionId=null, which makes no marker) and
 *   stop with one line when that is refused, before writing anything.
 *
 * BLOB
 *   A chunk (up to chunk_size bytes of a volume), a tree node or a catalog
 *   node (CATALOG), stored as
 *     seal(EK, A = "B" || id, payload)
 *   payload is zstd-compressed when flags bit 0 is set, lz4-compressed (an
 *   LZ4 block, liblz4's LZ4_compress_*, no frame) when bit 1 is set, raw
 *   when neither is; both bits, or any other bit, is damage (a TOC or index
 *   entry carrying one does not parse).  Any mix of the three may sit in
 *   one pack.  After opening, readers decompress to exactly raw_len bytes
 *   and recompute id(); a mismatch is damage.  An all-zero chunk is never stored: its id is
 *   written as 32 zero bytes (the "zero id").
 *
 * PACK  packs/<xx>/<pack id hex>   (xx = first two hex digits)
 *     blob_0 | blob_1 | ... | sealed TOC | toc_len u32 | magic "CAIRNPK1"
 *   toc_len is the size of the sealed TOC; TOC sealed with A = "T" || pack id.
 *   TOC plaintext: count u32, then count entries of 52 bytes (the record
 *   layout of repo/record.h, shared with INDEX):
 *     id (32) | type u8 (0 chunk, 1 tree node, 2 catalog node) | flags u8 (BLOB) |
 *     reserved u16 | raw_len u32 | stored_len u32 | offset u64
 *   offset/stored_len locate the sealed blob in the pack.  A pack holds blobs
 *   until it reaches pack_size (default 16 MiB).  The TOC alone is enough to
 *   rebuild the index (cairn repair index).  For a pack whose TOC does not
 *   open, repair keeps the blobs the old index places there that still open
 *   and match their ids, in an index object (version 2) naming the pack
 *   condemned: restore and check find them, backups do not reuse them, and
 *   prune copies what backups need into new packs (PRUNE 3).
 *
 * INDEX  index/<random hex>
 *   seal(EK, A = "I" || the 32 name bytes, body); body:
 *     magic "CIDX" | version u32 (1 or 2) | npacks u32 | npacks pack records |
 *     nentries u32 | entries of 52 bytes as in the TOC, except that the
 *     "offset" field is preceded by the pack's position in this object's
 *     pack list:  id (32) | type u8 | flags u8 | reserved u16 | raw_len u32 |
 *     stored_len u32 | pack u32 | offset u32
 *   A pack record is the pack id (32) in version 1, and the pack id (32) |
 *   condemned u64 in version 2: the unix time prune took the pack out of
 *   use, 0 for a live pack (PRUNE).  Version 2 is written only when a pack
 *   is condemned.  A pack may be listed without entries.
 *   Writers put at most CAIRN_INDEX_OBJECT_ENTRIES (262,144) entries in one
 *   object (13 MiB), a pack's entries never split across objects; readers
 *   take up to CAIRN_INDEX_ENTRIES_MAX (8,388,608) entries and
 *   CAIRN_INDEX_PACKS_MAX (1,048,576) pack records, 456 MiB, for objects of
 *   earlier versions, which put all of a backup's (or a repair's) entries
 *   in one: a backup of up to 512 GiB of new data at 64 KiB chunks.  A
 *   larger object is reported damaged; `cairn repair index` rewrites the
 *   index from the packs in objects of the new size.
 *   Each backup writes one index object for the packs it wrote (and for
 *   packs left unindexed by an interrupted backup, which it adopts), before
 *   its manifest.  The repository index is the union of all index objects:
 *   a pack is condemned only if every object listing it says so (one that
 *   lists it live wins), and of two entries with one id the one in a live
 *   pack wins.  A reader that finds an object gone between listing and
 *   reading lists again (prune writes the replacement first).
 *   Hosts keep a local, sorted copy of the union (repo/idxcache.h) in their
 *   state directory; it is no part of the repository and is rebuilt from
 *   the index objects whenever one it was built from is gone.
 *
 * TREE
 *   Each volume in a backup is described by a Merkle tree over its chunk ids.
 *   n = ceil(size / chunk_size) chunks; chunk i covers bytes
 *   [i*chunk_size, min((i+1)*chunk_size, size)).  Level 0 are the chunk ids;
 *   a node at level L >= 1 lists up to F = tree_fanout (256) ids of level
 *   L-1; node k of level L covers children k*F .. k*F+F-1.  levels is the
 *   smallest h >= 1 with F^h >= n; the single node at level h is the root.
 *   Node plaintext:  level u8 | reserved 3 bytes (0) | count u32 | count ids
 *   A node (or chunk) whose content is all zeros has the zero id and is not
 *   stored, so sparse regions cost nothing at any level.  Equal subtrees have
 *   equal ids, so two backups compare in O(changed nodes), and a new backup
 *   stores only the nodes along changed paths.
 *
 * CATALOG
 *   The files of a volume's ext2/3/4 file systems as they were in the bytes
 *   the backup read (the same snapshot, or the same live read: a live
 *   volume being written may give a catalog that disagrees with itself or
 *   with the chunks, as a live read gives such a volume), stored as catalog
 *   nodes: blobs of type 2, id = id(plaintext) like tree nodes, so a
 *   directory whose files did not change is one node the repository holds
 *   already.  Every node starts with
 *     magic "CCAT" | kind u8 | reserved 3 bytes (0) | count u32
 *   and is at most CAIRN_CATALOG_NODE_MAX (4 MiB) bytes.  Kinds:
 *     0 DIR      count entries (ENTRY) of one directory, or of one part of
 *                a large one, names in strictly increasing byte order
 *     1 PARTS    a large directory: count (2..65536) ids of DIR nodes, whose
 *                entries, in this order, are the directory's
 *     2 EXTENTS  count (1..16384) extents (EXTENT) of one file, in order
 *     3 VOLUME   the root: count (0..256) file systems, each
 *                  name_len u8 (0..15) | name | type_len u8 (0..31) | type |
 *                  offset u64 | size u64 | has_root u8 (0/1) |
 *                  has_root ? ENTRY of its root directory, name ""
 *                           : reason_len u16 (1..1024) | reason
 *                names distinct, in partition order; name "" is a
 *                whole-volume file system (then the only one);
 *                "p<N>" is partition N of an MBR or GPT partition table.
 *   ENTRY:
 *     name_len u16 (1..255) | name (no '/' or NUL, not "." or "..") |
 *     type u8 (1 file, 2 dir, 3 symlink, 4 char dev, 5 block dev, 6 fifo,
 *     7 socket) | flags u8 (bit 0: extents in EXTENTS nodes; bit 1: the
 *     file's bytes inline, below) | reserved u16 |
 *     mode u32 (st_mode; its type bits agree with type) | uid u32 | gid u32 |
 *     nlink u32 | size u64 | inode u64 | rdev u64 | atime i64 | mtime i64 |
 *     ctime i64 (nanoseconds since the epoch; atime 0: not recorded, which
 *     is what cairn writes since 2026-12-08: reads move access times
 *     (relatime once a day, so a nightly updatedb or find moves every
 *     directory's), and a catalog holding them made every directory's node
 *     new in every backup.  A reader restores mtime as the atime then),
 *     then by type:
 *       dir      the id (32) of its DIR or PARTS node (zero id: empty dir)
 *       symlink  target_len u16 (1..4095) | target (no NUL)
 *       file     nextents u32, then with flag bit 0: nparts u32 (1..4096)
 *                and nparts ids of EXTENTS nodes holding the nextents
 *                extents; with neither bit: nextents (0..64) EXTENT
 *                inline; with flag bit 1 (never with bit 0): nextents 0,
 *                then data_len u16 (1..4096 = CAIRN_CATALOG_INLINE_DATA_MAX,
 *                at most size) | data: the file's first data_len bytes,
 *                the rest up to size zeros.  Bit 1 is for files whose
 *                bytes the file system keeps in its metadata, where no
 *                extent of the volume holds them (ext4 inline_data;
 *                btrfs inline extents and small compressed files).
 *                Catalogs without bit 1 read as they always did; a cairn
 *                older than bit 1 refuses a node using it (entry flags).
 *   EXTENT (25 bytes):
 *     volume_offset u64 | file_offset u64 | length u64 | flags u8 (bit 0:
 *     unwritten, reads as zeros; bit 1: shared with another file or
 *     snapshot (FIEMAP_EXTENT_SHARED, XFS and btrfs catalogs), read alike;
 *     bit 2: compressed, below), and with bit 2 (never with bit 0) 25 bytes
 *     more (50 in all):
 *       disk_length u64 | ram_length u64 | data_offset u64 | compression u8
 *     A compressed extent (btrfs compress=zlib/lzo/zstd or chattr +c)
 *     keeps disk_length (1..CAIRN_CATALOG_ZEXTENT_MAX, 16 MiB) bytes at
 *     volume_offset, which decompress to at most ram_length
 *     (1..CAIRN_CATALOG_ZEXTENT_MAX) bytes, the rest of ram_length zeros
 *     (btrfs compresses a file's last extent only up to the file's size);
 *     the file's length bytes at file_offset are those at data_offset of
 *     them (data_offset + length <= ram_length: a partly overwritten or
 *     cloned extent uses a part).  A reader refuses an extent whose bytes
 *     do not decompress, decompress to more than ram_length, or end
 *     before the bytes the file uses (up to its size) do.
 *     compression is btrfs's BTRFS_COMPRESS_*: 1 zlib (one zlib stream),
 *     2 lzo (btrfs's segmented LZO1X: total length u32, then per segment
 *     a length u32 and its data, a segment header never crossing a 4 KiB
 *     sector), 3 zstd (one zstd frame); bytes after the stream's end up
 *     to disk_length are padding.  A record's length follows from its
 *     flags, so EXTENT records of one run are read in order.  Catalogs
 *     without bit 2 read as they always did; a cairn older than bit 2
 *     refuses a node using it (extent flags).
 *   Offsets are bytes of the volume (a partition's offset included), so a
 *   reader needs nothing of the file system.  A file's extents have
 *   increasing, non-overlapping file ranges, length >= 1 and no sum past
 *   2^63; the bytes no extent covers are holes.  Hard links are entries
 *   with one inode number (and nlink > 1).
 *   A DIR node of a large directory is cut after an entry whose name's
 *   FNV-1a hash is 0 modulo 256 (and that holds 32 entries or more), or
 *   before one that would take it past 1 MiB: an insertion changes one
 *   part and the PARTS node, not every part after it.
 *   The manifest names the VOLUME node in "catalog", or says in
 *   "catalog_none" why there is none (MANIFEST).  Walks that mark what
 *   backups use (prune, check) follow catalog ids as they follow tree ids.
 *
 * MANIFEST  backups/<backup id>
 *   seal(EK, A = "M" || the 16 id bytes, JSON):
 *     {"version":1, "id":"<32 hex>", "volume":"name", "created":"<RFC 3339>",
 *      "hostname":"...", "source":"/path", "size":N, "chunk_size":N,
 *      "tree_fanout":N, "levels":N, "root":"<64 hex>", "parent":"<32 hex>"|null,
 *      "tags":["..."],
 *      "change_tracking":"full-read"|"fiemap"|"thin-delta"|"change-map",
 *      "stats":{"bytes_read":N, "bytes_new":N, "bytes_stored":N,
 *               "chunks_new":N, "bytes_hashed":N, "seconds":F},
 *      "volume_info":{"logical_block_size":N, "fs_type":"ext4",
 *                     "label":"...", "uuid":"..."},
 *      "group":"<32 hex>", "policy":"name", "policy_id":"<32 hex>",
 *      "consistency":"snapshot"|"frozen"|"unchanged"|"unchecked"|
 *                    "changed-during-read",
 *      "catalog":"<64 hex>", "catalog_none":"reason"}
 *   (stats are informational; readers accept them missing.)  change_tracking
 *   names how the changed chunks were found: "full-read" (every chunk read,
 *   unchanged ones recognised by change tag or id), "fiemap" (extent maps of
 *   two reflink snapshots; only the changed ranges read), "thin-delta" (the
 *   blocks thin_delta reports changed between two LVM thin snapshots),
 *   "change-map" (a change map that names no method; not written by the
 *   cairn command).  Readers take any string, and "full-read" when it is
 *   missing.  volume_info
 *   (optional, each member optional) holds what a restored volume inherits,
 *   as probed by libblkid.  group (optional) is the id of the group backup
 *   this backup was made for.  hostname and source say where the volume
 *   was read: source is the volume's path as its host knows it across
 *   reboots (its real path; /dev/mapper/NAME for a device-mapper device),
 *   the volume's and not the snapshot's when a snapshot was read; they tie
 *   a volume name to one source (README, "One series per source").
 *   policy and policy_id (optional, both or neither) name the policy that
 *   made the backup: its name then, and the id it keeps for life (names
 *   can be reused, on other hosts too).  A policy's retention forgets only
 *   backups carrying its id unless it was made with --retention-scope
 *   volume; a backup without them was made by hand (or before they were
 *   recorded) and no policy forgets it by default.
 *   consistency (optional; absent in manifests written before it was
 *   recorded, and then unknown) says how the bytes relate to one instant:
 *   "snapshot" (read from a snapshot of the volume), "frozen" (read live
 *   while the file systems writing to it were frozen for the whole read),
 *   "unchanged" (read live; the image file's size, mtime and ctime were
 *   the same before and after the read), "unchecked" (read live from a
 *   block device, which has no such clock), "changed-during-read" (read
 *   live and they differed: kept, but possibly not one instant).  Readers
 *   take any string.
 *   catalog (optional) is the id of the backup's CATALOG VOLUME node;
 *   without it, catalog_none (optional) says why there is none, e.g. "no
 *   supported file system", "--no-catalog", "the ext4 file system could
 *   not be read: ..."; a manifest with neither was written before catalogs
 *   existed.
 *   Written after every pack and index object it depends on is durable; a
 *   backup without a manifest does not exist.
 *
 * GROUP  groups/<group backup id>
 *   seal(EK, A = "G" || the 16 id bytes, JSON):
 *     {"version":1, "id":"<32 hex>", "name":"group name",
 *      "created":"<RFC 3339>", "hostname":"...",
 *      "members":[{"volume":"name", "backup":"<32 hex>"}, ...],
 *      "freeze":["/mount/point", ...], "frozen_seconds":F,
 *      "config":{"name":"file name", "data":"<base64>"}|null}
 *   One object per `cairn group backup`: the backups of its volumes made
 *   from one set of snapshots (taken while the mount points in freeze were
 *   frozen, for frozen_seconds; with --freeze-during-read a volume without
 *   an instant snapshot is read live within that time instead), and the group's config document (at most
 *   16 MiB before base64), when it has one.  Each member's manifest names
 *   the group in its "group" field.  Written after every member's
 *   manifest: a group backup exists once this is written (members
 *   without it are plain backups).  At least one member; member volume
 *   names and the config's name become file names at group restore and
 *   must pass repo/names.h, or the object is damaged.  hostname, freeze,
 *   frozen_seconds and config are optional to readers.  Forget deletes
 *   the group object before its members' manifests, so a group backup is
 *   never left with members missing; one that does not open is forgotten
 *   alone, its members stay as backups.  A hold on the group or on any
 *   member keeps the whole group backup.
 *
 * HOLD  holds/<backup id>
 *   seal(EK, A = "H" || the 16 id bytes, JSON):
 *     {"version":1, "backup":"<32 hex>", "reason":"...", "created":"<RFC 3339>",
 *      "hostname":"..."}
 *   The id is that of a backup or of a group backup.  While it exists,
 *   forget keeps that backup (a group backup with all its members; a hold
 *   on one member keeps its whole group backup).  A hold that does not open
 *   still holds (its name says which backup).  Release deletes it.
 *
 * LEASE  lease/<random 32 hex>,  ACTIVITY MARKER  running/<random 32 hex>
 *   seal(EK, A = "L" (lease) or "R" (marker) || the 16 name bytes, JSON):
 *     {"version":1, "kind":"prune"|"repair"|"backup"|"restore"|"check"|"diff"|
 *              "catalog",
 *      "hostname":"...", "boot_id":"...", "pid":N, "pid_start":N,
 *      "created":N, "expires":N}            (unix seconds; markers: expires 0)
 *   boot_id is the kernel's (/proc/sys/kernel/random/boot_id), pid_start
 *   the process's start time in clock ticks, so the host that wrote one can
 *   tell a dead or reused pid from its writer.
 *   Lease: prune and index repair take it; it is live while expires lies
 *   ahead and, on its own host, its process runs.  To take it: list lease/,
 *   fail if one is live (removing stale ones), write ours, list again and
 *   step back if another live one appeared (both contenders then fail:
 *   safe).  The holder renews it (writes a new one, deletes the old) when a
 *   third of its time (10 minutes) has passed, and checks before every
 *   deletion that it has not expired; one that has stops at once.
 *   Marker: every job that reads the index (backup, restore, check, diff,
 *   catalog)
 *   writes one before it lists index objects and deletes it at the end.  A
 *   marker is live while its process is seen running on this host, or,
 *   when that cannot be told (another host), while it is younger than
 *   prune's safety window; a marker of a dead process on this host is not
 *   live.  Backups fail if they cannot write theirs;
 *   readers on read-only stores go on without (unprotected, and logged).
 *
 * PRUNE
 *   Only prune deletes blobs, and it never deletes what a running backup
 *   may still reference.  The danger: a backup loads the index when it
 *   starts and may deduplicate against any blob in it, also one no backup
 *   references when prune looks, and it writes its manifest later.  So
 *   prune first takes blobs out of use and deletes them only when no
 *   backup that could have seen them can still be running:
 *
 *   1. Take the lease.  List manifests, then index objects (a backup writes
 *      its index object before its manifest, so every manifest seen has its
 *      blobs in an object then read), then packs.  Packs no object names
 *      (an interrupted backup's, a crashed prune's, or a running backup's
 *      not yet indexed) are read from their TOC and condemned now.
 *   2. Mark every blob reachable from a manifest; one missing stops prune
 *      with nothing changed (so does a damaged manifest).
 *   3. Condemn packs with nothing marked; copy the marked blobs of the
 *      emptiest partly used packs (and of condemned packs a backup turned
 *      out to need) into new packs, sealed bytes unchanged after checking
 *      their tags, and condemn the sources.  Condemned = listed in an index
 *      object (version 2) with the time, its entries kept, so restore and
 *      check still find its blobs but backups do not reuse them (a backup
 *      stores such a blob again and indexes its own copy, which wins).
 *      Since condemned packs stay named by an index object, no backup
 *      adopts them as orphans.
 *   4. Write the new index: live packs in "main" objects, condemned ones in
 *      "doomed" objects; then delete the index objects read in 1.
 *   5. List the markers.  A condemned pack may be deleted now if no marker
 *      is live (every backup that loaded the old index has finished, and
 *      any backup starting from now loads the new one), else only once it
 *      was condemned a safety window ago (default 24 h).  Before deleting,
 *      manifests that appeared since 1 are walked (with the index objects
 *      that appeared since 1): a pack holding a blob one of them needs is
 *      kept, as is a pack some new index object lists live.
 *   6. Delete those packs (checking the lease first), then replace the
 *      doomed objects by ones naming the packs that remain condemned.
 *   Killed anywhere, the repository stays consistent: new packs without
 *   index are orphans (reused by the next backup or condemned by the next
 *   prune); two index generations side by side mean live wins; a doomed
 *   object may name packs already deleted (check accepts a missing
 *   condemned pack unless a backup needs one of its blobs).
 *   Assumptions: a backup (restore, check) on another host finishes
 *   within the safety window of loading the index, and host clocks agree
 *   to well within it.  Such a marker older than the window counts as
 *   crashed; one whose process runs on prune's own host never does, and
 *   defers deletions whatever the window (also 0).
 */
#ifndef CAIRN_REPO_FORMAT_H
#define CAIRN_REPO_FORMAT_H

#include "crypto/crypto.h"

#include <stdint.h>

#define CAIRN_FORMAT_VERSION 1

#define CAIRN_KEY_MAGIC "CAIRNKEY"
#define CAIRN_CONFIG_MAGIC "CAIRNCFG"
#define CAIRN_PACK_MAGIC "CAIRNPK1"
#define CAIRN_INDEX_MAGIC "CIDX"
#define CAIRN_MAGIC_LEN 8

#define CAIRN_KEY_HEADER_LEN 56
#define CAIRN_KEY_OBJECT_LEN (CAIRN_KEY_HEADER_LEN + CAIRN_AEAD_OVERHEAD + 32)
#define CAIRN_KEY_SALT_LEN 32
#define CAIRN_KEY_ID_LEN 8       /* key object names: 16 hex */
#define CAIRN_SCRYPT_LOG2N_DEFAULT 15
#define CAIRN_SCRYPT_LOG2N_MIN 10
#define CAIRN_SCRYPT_LOG2N_MAX 22
#define CAIRN_SCRYPT_R 8
#define CAIRN_SCRYPT_P 1
#define CAIRN_KEY_OPEN_BUDGET (2ull << 30) /* scrypt work of one open */
#define CAIRN_KEY_OPEN_MAX_OBJECTS 1024    /* key objects one open reads */

#define CAIRN_CONFIG_HEADER_LEN 12

/* The first byte of a sealed object's additional data (CRYPTO), one per
 * kind; repo/kinds.c ties each object kind to its letter. */
#define CAIRN_AAD_BLOB 'B'
#define CAIRN_AAD_TOC 'T' /* a pack's table of contents */
#define CAIRN_AAD_INDEX 'I'
#define CAIRN_AAD_MANIFEST 'M'
#define CAIRN_AAD_CONFIG 'C'
#define CAIRN_AAD_GROUP 'G'
#define CAIRN_AAD_HOLD 'H'
#define CAIRN_AAD_LEASE 'L'
#define CAIRN_AAD_MARKER 'R'
#define CAIRN_AAD_KEY 'K' /* sealed with the passphrase's KEK, not EK */

#define CAIRN_BACKUP_ID_LEN 16   /* manifests: 32 hex */
#define CAIRN_POLICY_ID_LEN 16   /* a manifest's policy_id: 32 hex */
#define CAIRN_PACK_ID_LEN 32
#define CAIRN_INDEX_NAME_LEN 32

#define CAIRN_TOC_ENTRY_LEN 52
#define CAIRN_INDEX_ENTRY_LEN 52
#define CAIRN_PACK_TRAILER_LEN 12

/* Size caps of the objects read whole (OBJECTS; their table is in
 * repo/kinds.c).  Key objects have their one exact size. */
#define CAIRN_CONFIG_OBJECT_MAX (64u << 10)
#define CAIRN_MANIFEST_OBJECT_MAX (1u << 20)
#define CAIRN_GROUP_OBJECT_MAX (24u << 20)
#define CAIRN_HOLD_OBJECT_MAX (64u << 10)
#define CAIRN_LEASE_OBJECT_MAX (64u << 10) /* leases and activity markers */
/* Leases and activity markers are named by 16 random bytes (32 hex). */
#define CAIRN_PRESENCE_ID_LEN 16
/* Index objects (INDEX): writers put at most CAIRN_INDEX_OBJECT_ENTRIES
 * entries in one (a pack's entries never split); readers take up to
 * CAIRN_INDEX_ENTRIES_MAX entries in CAIRN_INDEX_PACKS_MAX packs. */
#define CAIRN_INDEX_OBJECT_ENTRIES (256u << 10)
#define CAIRN_INDEX_ENTRIES_MAX (8u << 20)
#define CAIRN_INDEX_PACKS_MAX (1u << 20)
#define CAIRN_INDEX_OBJECT_MAX                                                                     \
	(16ull + CAIRN_AEAD_OVERHEAD + (uint64_t)CAIRN_INDEX_PACKS_MAX * (CAIRN_PACK_ID_LEN + 8) + \
	 (uint64_t)CAIRN_INDEX_ENTRIES_MAX * CAIRN_INDEX_ENTRY_LEN)

#define CAIRN_CHUNK_SIZE_MIN (4u << 10)
#define CAIRN_CHUNK_SIZE_MAX (16u << 20)
#define CAIRN_CHUNK_SIZE_DEFAULT (64u << 10)
#define CAIRN_PACK_SIZE_DEFAULT (16u << 20)
#define CAIRN_TREE_FANOUT 256

#define CAIRN_NODE_HEADER_LEN 8

/* Catalog nodes (CATALOG). */
#define CAIRN_CATALOG_MAGIC "CCAT"
#define CAIRN_CATALOG_HEADER_LEN 12
#define CAIRN_CATALOG_NODE_MAX (4u << 20)
#define CAIRN_CATALOG_PART_MAX (1u << 20) /* a DIR node is cut before this */
#define CAIRN_CATALOG_PARTS_MAX 65536
#define CAIRN_CATALOG_EXTENTS_NODE_MAX 16384
#define CAIRN_CATALOG_INLINE_EXTENTS 64
#define CAIRN_CATALOG_EXTENT_PARTS_MAX 4096
#define CAIRN_CATALOG_FS_MAX 256
#define CAIRN_CATALOG_NAME_MAX 255
#define CAIRN_CATALOG_TARGET_MAX 4095
#define CAIRN_CATALOG_REASON_MAX 1024
#define CAIRN_CATALOG_EXTENT_LEN 25
#define CAIRN_CATALOG_INLINE_DATA_MAX 4096 /* a file's bytes held in its ENTRY */
#define CAIRN_CATALOG_ZEXTENT_LEN 50 /* an EXTENT with bit 2 (compressed) */
#define CAIRN_CATALOG_ZEXTENT_MAX (16u << 20) /* its disk_length and ram_length */

enum cairn_blob_type {
	CAIRN_BLOB_CHUNK = 0,
	CAIRN_BLOB_TREE = 1,
	CAIRN_BLOB_CATALOG = 2, /* a catalog node (CATALOG) */
};

enum {
	CAIRN_BLOB_ZSTD = 1u << 0,
	CAIRN_BLOB_LZ4 = 1u << 1,
	CAIRN_BLOB_FLAGS_KNOWN = CAIRN_BLOB_ZSTD | CAIRN_BLOB_LZ4,
};

/* Whether a TOC or index entry's flags are a valid combination (BLOB). */
static inline int cairn_blob_flags_valid(unsigned flags)
{
	return !(flags & ~(unsigned)CAIRN_BLOB_FLAGS_KNOWN) && flags != CAIRN_BLOB_FLAGS_KNOWN;
}

/* Where a blob lives; the unit of the index and of a pack's TOC. */
struct cairn_blob_ref {
	uint8_t id[CAIRN_ID_LEN];
	uint32_t pack;       /* position in the index's pack table */
	uint32_t offset;     /* of the sealed blob in the pack */
	uint32_t stored_len; /* sealed length */
	uint32_t raw_len;    /* plaintext length */
	uint8_t type;
	uint8_t flags;
};

static inline int cairn_id_is_zero(const uint8_t id[CAIRN_ID_LEN])
{
	static const uint8_t zero[CAIRN_ID_LEN];
	return __builtin_memcmp(id, zero, CAIRN_ID_LEN) == 0;
}

#endif

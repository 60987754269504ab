/* The XML the object-store drivers read (xml.c): one strict, bounded
 * reader, and the small pieces every document parser over it needs
 * (s3/parse.c, azure/parse.c). */
#ifndef CAIRN_STORE_XML_H
#define CAIRN_STORE_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called at the end of every element with its path from the root
 * ("ListBucketResult/Contents/Key", namespace prefixes dropped) and its
 * text with entities decoded (empty for elements that have children).
 * text is NUL-terminated and may not hold a NUL byte.  A non-zero return
 * stops the walk and is returned. */
typedef int (*cairn_xml_fn)(const char *path, const char *text, size_t len, void *ud);

#define CAIRN_XML_DEPTH_MAX 16
#define CAIRN_XML_PATH_MAX 512
#define CAIRN_XML_TEXT_MAX 16384

/* Walks a whole document; CAIRN_ECORRUPT (message set) if it is not
 * well-formed, has a DTD, nests deeper than CAIRN_XML_DEPTH_MAX or has
 * a text or path over the limits. */
int cairn_xml_walk(const void *doc, size_t len, cairn_xml_fn fn, void *ud);

/* ---- for document parsers ---- */

/* What a parser's callback returns for a document of another kind; the
 * parser turns it into its own CAIRN_ECORRUPT message. */
#define CAIRN_XML_WRONG_ROOT 1

/* Is path the root element `root`, or below it?  Sets *below to the rest
 * of the path ("" for the root itself). */
bool cairn_xml_in_root(const char *path, const char *root, const char **below);

/* A decimal number s[0..n) that fits 64 bits; -1 otherwise. */
int cairn_xml_parse_u64(const char *s, size_t n, uint64_t *ret);

/* CAIRN_ECORRUPT with "unexpected reply from the server: what". */
int cairn_xml_corrupt(const char *what);

#endif

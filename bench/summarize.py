#!/usr/bin/env python3
"""Summarize a bench/run.sh raw result file (run, tool, metric, value TSV)
into markdown tables of medians.  Usage: summarize.py RAW.tsv META.txt"""
import statistics
import sys

MiB = 1 << 20
NAMES = {
    'cairn': 'cairn',
    'restic': 'restic 0.14',
    'borg-fixed': 'borg 1.2 fixed 64 KiB, lz4',
    'borg-default': 'borg 1.2 buzhash (default), lz4',
}
# Targets from the issue (restic 0.14 / borg 1.2 on the reference machine).
TARGETS = [
    # name, full s, incr s, added MiB, restore s, repo MiB
    ('restic 0.14', 20.9, 14.3, 598, 9.8, 2124),
    ('borg 1.2 fixed 64 KiB, lz4', 18.4, 5.8, 73, 15.6, 1798),
    ('borg 1.2 buzhash (default), lz4', 15.5, 12.1, 1111, 16.2, 2814),
]
RESTIC_TARGET = {'full_s': 20.9, 'incr_s': 14.3, 'restore_s': 9.8}
S3_NAMES = {
    'cairn-s3': 'cairn, s3://',
    'restic-s3': 'restic 0.14, S3 backend',
}


def load(path):
    data, order, runs = {}, [], set()
    with open(path) as f:
        next(f)
        for line in f:
            run, tool, metric, value = line.rstrip('\n').split('\t')
            runs.add(run)
            if tool not in data:
                data[tool] = {}
                order.append(tool)
            data[tool].setdefault(metric, []).append(value)
    return data, order, len(runs)


def med(d, metric):
    vals = []
    for v in d.get(metric, []):
        try:
            vals.append(float(v))
        except ValueError:
            pass
    return statistics.median(vals) if vals else None


def fs(x, nd=2):
    return 'n/a' if x is None else '%.*f' % (nd, x)


def fmib(x):
    return 'n/a' if x is None else '%.1f' % (x / MiB)


def main():
    data, order, nruns = load(sys.argv[1])
    meta = open(sys.argv[2]).read().strip().splitlines() if len(sys.argv) > 2 else []
    changed = None
    for line in meta:
        if line.startswith('changed:'):
            changed = int(line.split('=')[1].split()[0])
    out = ['# cairn benchmark: latest results', '',
           'Produced by `bench/run.sh` (`make bench`); method in docs/benchmarks.md.',
           'Medians over runs; page cache dropped before every timed step, then (cache:',
           "warm) the step's input (source image or repository) pre-read into it.", '',
           '```']
    out += meta
    out += ['```', '']

    main_tools = [t for t in order if t in NAMES]
    restic = data.get('restic')
    ref = {}
    for m in ('full_s', 'incr_s', 'restore_s'):
        ref[m] = med(restic, m) if restic else None
    used_target = False
    if any(v is None for v in ref.values()):
        ref = dict(RESTIC_TARGET)
        used_target = True
    mark = '†' if used_target else ''

    if main_tools:
        out += ['## Tools', '',
                '| tool | full backup s | incremental s | added by incremental MiB | restore s '
                '| repo after both MiB | peak RSS MiB | full vs restic%s | incremental vs restic%s '
                '| restore vs restic%s | restore verified |' % (mark, mark, mark),
                '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|']
        for t in main_tools:
            d = data[t]
            row = [NAMES[t]]
            fails = len(d.get('failed', []))
            if fails:
                row[0] += ' (failed in %d of %d runs)' % (fails, nruns)
            row += [fs(med(d, 'full_s')), fs(med(d, 'incr_s')), fmib(med(d, 'added_b')),
                    fs(med(d, 'restore_s')), fmib(med(d, 'repo_both_b'))]
            rss = med(d, 'rss_kib')
            row.append('n/a' if rss is None else '%.0f' % (rss / 1024))
            for m in ('full_s', 'incr_s', 'restore_s'):
                v = med(d, m)
                row.append('n/a' if (v is None or not v or ref[m] is None) else '%.2fx' % (ref[m] / v))
            ver = d.get('verify', [])
            row.append('n/a' if not ver else ('ok' if all(v == 'ok' for v in ver) else
                                              '%d/%d FAIL' % (sum(v != 'ok' for v in ver), len(ver))))
            out.append('| ' + ' | '.join(row) + ' |')
        out.append('')
        out.append('Ratios are restic time / tool time (above 1 = faster than restic).')
        if used_target:
            out.append('† restic was not measured in this run: ratios use the restic 0.14 '
                       'targets from the issue (full 20.9 s, incremental 14.3 s, restore 9.8 s).')
        if 'cairn' in data:
            d = data['cairn']
            bits = []
            for m, label in (('incr_stored_b', 'bytes_stored'), ('incr_new_b', 'bytes_new')):
                v = med(d, m)
                if v is not None:
                    bits.append('%s %.1f MiB' % (label, v / MiB))
            ct = d.get('incr_change_tracking')
            if ct:
                bits.append('change_tracking "%s"' % ct[-1])
            if bits:
                out.append('cairn incremental (--json): ' + ', '.join(bits) + '.')
        out.append('')

    s3 = [t for t in order if t in S3_NAMES]
    if s3:
        rs = data.get('restic-s3')
        out += ['## S3: Ceph RGW on loopback', '',
                'Both tools against the same fresh RGW (memstore OSD, objects in RAM) on 127.0.0.1; '
                'repository size is what RGW accounts for the bucket.', '',
                '| tool | full backup s | incremental s | restore s | repo after full MiB '
                '| repo after both MiB | HTTP requests per stored MiB (full) | peak RSS MiB '
                '| full vs restic | restore vs restic | restore verified |',
                '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|']
        for t in s3:
            d = data[t]
            row = [S3_NAMES[t]]
            fails = len(d.get('failed', []))
            if fails:
                row[0] += ' (failed in %d of %d runs)' % (fails, nruns)
            rpm = med(d, 'requests_per_mib')
            rss = med(d, 'rss_kib')
            row += [fs(med(d, 'full_s')), fs(med(d, 'incr_s')), fs(med(d, 'restore_s')),
                    fmib(med(d, 'repo_full_b')), fmib(med(d, 'repo_both_b')),
                    'n/a' if rpm is None else '%.2f' % rpm,
                    'n/a' if rss is None else '%.0f' % (rss / 1024)]
            for m in ('full_s', 'restore_s'):
                v, r = med(d, m), med(rs, m) if rs else None
                row.append('n/a' if (v is None or not v or r is None) else '%.2fx' % (r / v))
            ver = d.get('verify', [])
            row.append('n/a' if not ver else ('ok' if all(v == 'ok' for v in ver) else
                                              '%d/%d FAIL' % (sum(v != 'ok' for v in ver), len(ver))))
            out.append('| ' + ' | '.join(row) + ' |')
        out += ['', 'Targets (issue 3): full backup and restore at least 3x faster than restic\'s '
                'S3 backend, at most 4 HTTP requests per stored MiB on a full backup.', '']

    sweep = [t for t in order if t.startswith('cairn-') and t not in S3_NAMES]
    if sweep:
        out += ['## cairn chunk-size and zstd-level sweep', '',
                'Changed data: %s bytes (%s MiB, differing 4 KiB blocks between base.img and '
                'changed.img).' % (changed if changed is not None else 'n/a',
                                   fmib(changed)), '',
                '| chunk size, compression | full backup s | incremental s | added by incremental MiB (repo delta) '
                '| bytes_stored by incremental MiB | repo delta / changed byte '
                '| bytes_stored / changed byte | repo after both MiB | peak RSS MiB |',
                '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
        for t in sweep:
            d = data[t]
            name = t[len('cairn-'):]
            name = ('default chunk, zstd level %s' % name[1:]) if name.startswith('z') else name + ', zstd level 1'
            fails = len(d.get('failed', []))
            if fails:
                name += ' (failed in %d of %d runs)' % (fails, nruns)
            added, stored = med(d, 'added_b'), med(d, 'incr_stored_b')
            rss = med(d, 'rss_kib')
            out.append('| ' + ' | '.join([
                name, fs(med(d, 'full_s')), fs(med(d, 'incr_s')), fmib(added), fmib(stored),
                'n/a' if added is None or not changed else '%.2f' % (added / changed),
                'n/a' if stored is None or not changed else '%.2f' % (stored / changed),
                fmib(med(d, 'repo_both_b')),
                'n/a' if rss is None else '%.0f' % (rss / 1024)]) + ' |')
        out.append('')

    out += ['## Targets from the issue (reference)', '',
            '| tool | full backup s | incremental s | added by incremental MiB | restore s '
            '| repo after both MiB |', '|---|---:|---:|---:|---:|---:|']
    for row in TARGETS:
        out.append('| %s | %.1f | %.1f | %d | %.1f | %s |' % (row[0], row[1], row[2], row[3],
                                                             row[4], format(row[5], ',')))
    print('\n'.join(out))


if __name__ == '__main__':
    main()

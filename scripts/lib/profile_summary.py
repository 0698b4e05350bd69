"""Summarises a system-wide `perf record` of the sync benchmark: CPU shares by process,
and the server's own samples by what it was doing, from the leaf frame's symbol and
library. Used by scripts/profile-push."""

import collections
import subprocess
import sys

# The first pattern that matches a sample's leaf (symbol or library) names its work.
CATEGORIES = [
    ("SQL engine (SQLite)", ("sqlite3", "libsqlite3")),
    ("database driver (sqlx, PostgreSQL wire)", ("sqlx", "postgres", "PgConnection", "tokio_postgres")),
    ("JSON (serde_json)", ("serde_json", "serde::")),
    ("hashing (SHA-256)", ("sha2", "sha256", "Sha256")),
    ("signatures (Ed25519, tokens)", ("ed25519", "curve25519", "dalek")),
    ("HTTP and async runtime (hyper, tokio, axum, tower)", ("hyper", "tokio", "axum", "tower", "h2::", "mio")),
    ("memory (malloc, copies)", ("malloc", "free", "memcpy", "memmove", "memset", "realloc", "_int_", "cfree")),
    ("kernel (syscalls, network, scheduling)", ("[kernel", "kernel")),
]


# Phases of a push, by a function anywhere on the sample's stack (inclusive): the
# first that matches names the sample. Needs frame pointers (scripts/profile-push
# builds with them) for whole stacks.
PHASES = [
    ("sequencer: integrating leaves and entries, signing heads", ("sequencer::integrate", "audit::log::integrate", "sign_head", "sequencer_loop")),
    ("push: checking the chain before writing (plan)", ("sync::plan",)),
    ("push: reading what the records name (Batch::prefetch)", ("Batch::prefetch",)),
    ("push: the held-back rows, per table (Batch::flush)", ("Batch::flush",)),
    ("push: applying records to projections", ("sync::apply", "patrols::apply", "notices::apply", "photos::apply")),
    ("push: other work in the transaction (savepoints, device row)", ("sync::push", "store_and_apply")),
    # Precise names only: every thread's stack starts in __rust_begin_short_backtrace.
    ("commit (WAL write and fsync) and begin", ("sqlite_writer::finish", "sqlite3VdbeCommit", "TransactionManager")),
    ("request body: JSON to records", ("serde_json::de", "from_slice", "Json<T>", "extract::json")),
    ("records' hashes (canonical JSON, SHA-256)", ("Record::hash", "canonical_bytes", "Canonical::of")),
    ("sign-in token checks", ("tokens", "verify_strict", "ed25519")),
    ("answer: records to JSON", ("serde_json::ser",)),
    ("HTTP and the async runtime", ("hyper", "axum", "tower", "tokio")),
]


def phase(stack):
    text = " ".join(stack)
    for name, needles in PHASES:
        if any(n in text for n in needles):
            return name
    return "elsewhere"


def category(symbol, dso):
    text = f"{symbol} {dso}"
    for name, needles in CATEGORIES:
        if any(n in text for n in needles):
            return name
    return "other (the project's code, std)"


def main(path):
    script = subprocess.run(
        ["perf", "script", "-i", path, "-F", "comm,ip,sym,dso", "--no-inline"],
        capture_output=True, text=True, check=True,
    ).stdout
    by_comm = collections.Counter()
    server = collections.Counter()
    phases = collections.Counter()
    total = 0
    comm = None
    leaf = False
    stack = []

    def done():
        if comm is not None and is_server(comm) and stack:
            phases[phase(stack)] += 1
    for line in script.splitlines():
        if not line.strip():
            done()
            comm = None
            stack = []
            continue
        if not line.startswith((" ", "\t")):
            done()
            stack = []
            comm = line.split()[0]
            # Threads are named after their pool (tokio-runtime-w, …): the process is
            # what the first line of the stack's owner says.
            by_comm[comm] += 1
            total += 1
            leaf = True
            continue
        if comm is not None:
            parts = line.strip().split(None, 1)
            stack.append(parts[1] if len(parts) > 1 else "")
        if leaf and comm is not None:
            leaf = False
            parts = line.strip().split(None, 1)
            rest = parts[1] if len(parts) > 1 else ""
            sym, _, dso = rest.rpartition(" (")
            if is_server(comm):
                server[category(sym, dso)] += 1
    done()
    print(f"\n{total} samples on 2 CPUs")
    print("CPU by process:")
    groups = collections.Counter()
    for c, n in by_comm.items():
        groups[group(c)] += n
    for g, n in groups.most_common():
        print(f"  {g:<45} {100 * n / total:5.1f} %")
    s = sum(server.values())
    if s:
        print("inside the server:")
        for name, n in server.most_common():
            print(f"  {name:<52} {100 * n / s:5.1f} %")
        p = sum(phases.values())
        print("the server's time by phase (whole stacks):")
        for name, n in phases.most_common():
            print(f"  {name:<60} {100 * n / p:5.1f} %")


def is_server(comm):
    return comm.startswith(("patrol-server", "tokio-r", "sqlx", "malloc-trim", "patrol"))


def group(comm):
    if is_server(comm):
        return "server (patrol-server)"
    if comm.startswith("postgres"):
        return "database (postgres processes)"
    if comm.startswith(("sync-bench",)) or comm[:1].isdigit():
        return "the benchmark's phones (sync-bench)"
    if comm.startswith(("swapper", "kworker", "ksoftirq", "rcu")):
        return "idle and kernel threads"
    return f"other ({comm})"


if __name__ == "__main__":
    main(sys.argv[1])

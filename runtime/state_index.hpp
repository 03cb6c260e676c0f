// One file under --root, `.index`, with the summary of every container, so that `list` reads
// one file instead of each container's state.json (four system calls a container, most of its
// time with a thousand containers: issue 19, docs/benchmarks.md).
//
// It is a cache that may only ever be incomplete, never wrong: an entry is forgotten before its
// state.json changes and recorded after, so a crash in between leaves no entry (list then reads
// the container itself, as before the index); an entry names the identity of its directory and
// of the state.json it describes (inodes, size, change time), so it never describes another
// directory of the same name nor a state file changed behind nyx's back (a damaged one is
// then read, and listed as damaged, as before); `list` lists what the directory holds and uses
// an entry only for a directory that has one.
//
// Appends only, each record on a line of its own ("\n+ ID IDENTITY SUMMARY\n", "\n- ID -\n"), the
// last for an ID wins, under an flock of the file; readers take no lock: a record still being
// written has no final newline yet and is skipped. A write that does not complete removes the
// whole file. When it has grown to twice its size after the last compaction it is rewritten
// with one line per container and renamed into place.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <unordered_map>

#include "runtime/state_store.hpp"

namespace nyx::state_index {

// Before state.json of `id` changes (or its directory appears under its name). Throws Error
// only when the entry can be neither forgotten nor the index removed.
void forget(int rootfd, std::string_view id);

// After state.json of `id` was written with summary `s`; `identity` is identity() of the
// container's directory and that file. Failing only leaves the entry out.
void record(int rootfd, std::string_view id, std::string_view identity,
            const StateSummary& s) noexcept;

// What must still be true for an entry to hold: the directory's inode, and state.json's inode,
// size and change time.
std::string identity(ino_t dir_ino, const struct stat& state_file);

// After a container directory was removed: the index goes too when --root holds no directory
// any more (a --root without containers is left as it was found).
void remove_if_unused(int rootfd) noexcept;

struct Entry {
  std::string_view identity;
  std::string_view summary;  // the summary object's JSON text, in `text` of read()
};

// The entries of the index under `rootfd` (none when there is no index or it is not one this
// version writes); the views point into `text`.
std::unordered_map<std::string_view, Entry> read(int rootfd, std::string& text);

}  // namespace nyx::state_index

// nyx-escape-matrix: runs every cell of the escape-fixture matrix, prints it as a table and
// exits 1 when a cell is not as expected or a cell left a mount, container, state or cgroup.
//
//   nyx-escape-matrix [--markdown] [--only WORD]
//
// --markdown prints the table as docs/security.md shows it; --only keeps the cells whose
// fixture, primitive or ablation contains WORD. Needs root: it starts real containers.
#include <dirent.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include "tests/escape/matrix.hpp"

namespace nyx::escape {
namespace {

struct Options {
  bool markdown = false;
  std::string only;
};

struct Row {
  const Cell* cell = nullptr;
  Observation obs;
  std::string state_note;
  std::string hygiene;
  double seconds = 0;
  // A skipped cell (the host lacks the mechanism) is not unexpected, and not blocked either:
  // it is counted apart.
  bool ok() const {
    bool verdict = obs.verdict == cell->expect || obs.verdict == Verdict::Skipped;
    return verdict && state_note.empty() && hygiene.empty();
  }
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--markdown") {
      o.markdown = true;
    } else if (a == "--only" && i + 1 < argc) {
      o.only = argv[++i];
    } else {
      std::cerr << "usage: nyx-escape-matrix [--markdown] [--only WORD]\n";
      return false;
    }
  }
  return true;
}

// With rlimits ablated the harness inherits ours: the fd-flood cell needs room for 10 000.
void raise_nofile() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

std::string cgroups_left(const std::string& id) {
  std::string out;
  std::vector<std::string> roots = {"/sys/fs/cgroup"};
  if (DIR* d = opendir("/sys/fs/cgroup")) {
    for (dirent* e; (e = readdir(d)) != nullptr;) {
      if (e->d_name[0] != '.') roots.push_back(std::string("/sys/fs/cgroup/") + e->d_name);
    }
    closedir(d);
  }
  for (const auto& r : roots) {
    std::string dir = r + "/nyx-runtime/" + id;
    if (test::path_exists(dir)) out += " cgroup " + dir;
  }
  return out;
}

// Everything a cell may have left behind; cleans it up and names it.
std::string hygiene(Env& env) {
  std::string out;
  std::vector<std::string> mounts = test::mounts_under(env.work + "/");
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) {
    umount2(it->c_str(), MNT_DETACH);
    out += " mount " + *it;
  }
  for (const auto& id : env.take_ids()) {
    if (test::path_exists(env.sb.root + "/" + id)) {
      env.sb.nyx({"delete", "--force", id});
      out += " container " + id;
    }
    out += cgroups_left(id);
  }
  return out.empty() ? "" : "left" + out;
}

Row run_cell(Env& env, const Cell& c) {
  Row row;
  row.cell = &c;
  auto t0 = std::chrono::steady_clock::now();
  try {
    row.obs = c.run(env, c);
  } catch (const std::exception& e) {
    row.obs = error(std::string("exception: ") + e.what());
  }
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!row.obs.refused) row.state_note = check_state(row.obs.state, c);
  row.hygiene = hygiene(env);
  return row;
}

std::vector<std::string> columns(const Row& r) {
  const Cell& c = *r.cell;
  std::string state = r.obs.refused ? "-" : r.state_note.empty() ? "ok" : r.state_note;
  std::string level = r.obs.state.is_object() ? r.obs.state["hardening"].value("level", "?") : "-";
  std::string ev = r.obs.evidence + (r.hygiene.empty() ? "" : " [" + r.hygiene + "]");
  char secs[16];
  std::snprintf(secs, sizeof secs, "%.2f", r.seconds);
  std::string flags;
  for (const auto& f : c.flags)
    flags += " " + f;
  return {c.fixture,
          c.primitive,
          c.config,
          (c.ablate.empty() ? "-" : c.ablate) + flags,
          verdict_name(c.expect),
          verdict_name(r.obs.verdict),
          !r.ok()                             ? "UNEXPECTED"
          : r.obs.verdict == Verdict::Skipped ? "skipped"
                                              : "ok",
          level,
          state,
          secs,
          ev};
}

const std::vector<std::string> kHeader = {"fixture", "primitive", "config",  "ablate",
                                          "expect",  "got",       "cell",    "level",
                                          "state",   "s",         "evidence"};

void print_markdown(const std::vector<std::vector<std::string>>& rows) {
  for (const auto& r : rows) {
    std::string line = "|";
    for (auto cell : r) {
      for (std::size_t p = 0; (p = cell.find('|', p)) != std::string::npos; p += 2)
        cell.replace(p, 1, "\\|");
      line += " " + cell + " |";
    }
    std::cout << line << "\n";
    if (&r == &rows.front()) {
      std::string sep = "|";
      for (std::size_t i = 0; i < r.size(); ++i)
        sep += "---|";
      std::cout << sep << "\n";
    }
  }
}

void print_text(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(kHeader.size(), 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i + 1 < r.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

void print_table(const std::vector<Row>& rows, bool markdown) {
  std::vector<std::vector<std::string>> table = {kHeader};
  for (const auto& r : rows)
    table.push_back(columns(r));
  if (markdown) {
    print_markdown(table);
  } else {
    print_text(table);
  }
}

bool selected(const Cell& c, const std::string& only) {
  return only.empty() || c.fixture.find(only) != std::string::npos ||
         c.primitive.find(only) != std::string::npos || c.ablate.find(only) != std::string::npos;
}

int run_matrix(const Options& o) {
  raise_nofile();
  const std::string host_name = hostname();
  Env env;
  std::vector<Cell> cells = ablation_cells();
  for (auto* more : {host_safety_cells, cve_cells, issue17_cells}) {
    for (auto& c : more())
      cells.push_back(std::move(c));
  }
  std::vector<Row> rows;
  auto t0 = std::chrono::steady_clock::now();
  for (const Cell& c : cells) {
    if (!selected(c, o.only)) continue;
    rows.push_back(run_cell(env, c));
    std::cerr << "[" << rows.size() << "] " << c.fixture << " " << c.ablate << ": "
              << verdict_name(rows.back().obs.verdict) << (rows.back().ok() ? "" : " UNEXPECTED")
              << "\n";
  }
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  print_table(rows, o.markdown);
  int bad = 0;
  int skipped = 0;
  for (const auto& r : rows) {
    bad += r.ok() ? 0 : 1;
    skipped += r.obs.verdict == Verdict::Skipped ? 1 : 0;
  }
  if (hostname() != host_name) {
    std::cout << "host hostname changed to " << hostname() << "\n";
    ++bad;
  }
  if (std::string schema = test::validate_remembered_states(); !schema.empty()) {
    std::cout << schema << "\n";
    ++bad;
  }
  std::cout << "\n"
            << rows.size() << " cells, " << bad << " unexpected, " << skipped
            << " skipped (the host lacks what they need), " << static_cast<int>(total) << " s\n";
  return bad == 0 ? 0 : 1;
}

}  // namespace
}  // namespace nyx::escape

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--wrap") == 0) return nyx::escape::wrap_main(argc, argv);
  nyx::escape::Options o;
  if (!nyx::escape::parse(argc, argv, o)) return 2;
  if (geteuid() != 0) {
    std::cerr << "nyx-escape-matrix: needs root (it starts real containers)\n";
    return 2;
  }
  try {
    return nyx::escape::run_matrix(o);
  } catch (const std::exception& e) {
    std::cerr << "nyx-escape-matrix: " << e.what() << "\n";
    return 1;
  }
}

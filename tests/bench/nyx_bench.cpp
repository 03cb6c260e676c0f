// In-process costs of the start path, measured with Google Benchmark: what `create` does in
// user space before and after the kernel work (whole-process figures: scripts/bench.sh).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bundle/config.hpp"
#include "bundle/profile.hpp"
#include "runtime/container.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/plan.hpp"
#include "runtime/primitives/seccomp.hpp"
#include "runtime/state_store.hpp"

namespace {

std::string spec_text(const nyx::SpecOptions& o) {
  return nyx::make_spec(o).dump(2);
}

// A private temporary directory, removed with everything in it.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nyx-bench-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

void BM_ParseStrictConfig(benchmark::State& st) {
  std::string text = spec_text({});
  for (auto _ : st)
    benchmark::DoNotOptimize(nyx::parse_config(text));
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * text.size()));
}
BENCHMARK(BM_ParseStrictConfig);

void BM_ParseStandardConfig(benchmark::State& st) {
  nyx::SpecOptions o;
  o.profile = "standard";
  std::string text = spec_text(o);
  for (auto _ : st)
    benchmark::DoNotOptimize(nyx::parse_config(text));
}
BENCHMARK(BM_ParseStandardConfig);

void BM_ParseHostLibsConfig(benchmark::State& st) {
  nyx::SpecOptions o;
  o.host_libs = true;
  o.allow = {"net"};
  std::string text = spec_text(o);
  for (auto _ : st)
    benchmark::DoNotOptimize(nyx::parse_config(text));
}
BENCHMARK(BM_ParseHostLibsConfig);

void BM_Parse100kEnvConfig(benchmark::State& st) {
  nlohmann::ordered_json doc = nyx::make_spec({});
  auto& env = doc["process"]["env"];
  for (int i = 0; i < 100000; ++i)
    env.push_back("VAR_" + std::to_string(i) + "=value-" + std::to_string(i));
  std::string text = doc.dump();
  for (auto _ : st)
    benchmark::DoNotOptimize(nyx::parse_config(text));
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * text.size()));
}
BENCHMARK(BM_Parse100kEnvConfig)->Unit(benchmark::kMillisecond);

// Plan for the strict profile against a real (empty) rootfs directory.
void BM_BuildStrictPlan(benchmark::State& st) {
  TempDir dir;
  std::string rootfs = dir.path + "/rootfs";
  ::mkdir(rootfs.c_str(), 0755);
  for (const char* d : {"/proc", "/dev", "/tmp", "/sys"})
    ::mkdir((rootfs + d).c_str(), 0755);
  nyx::Config cfg = nyx::parse_config(spec_text({}));
  for (auto _ : st) {
    nyx::PlanInput in;
    in.cfg = &cfg;
    in.bundle = dir.path;
    in.rootfs = rootfs;
    benchmark::DoNotOptimize(nyx::build_plan(in));
  }
}
BENCHMARK(BM_BuildStrictPlan);

void BM_CompileStrictSeccomp(benchmark::State& st) {
  nyx::Config cfg = nyx::parse_config(spec_text({}));
  for (auto _ : st)
    benchmark::DoNotOptimize(nyx::compile_seccomp(*cfg.linux.seccomp, {}));
}
BENCHMARK(BM_CompileStrictSeccomp);

// A state record like the one create writes: OCI fields, the stored config, the hardening record.
nlohmann::json sample_state() {
  nyx::Config cfg = nyx::parse_config(spec_text({}));
  nyx::Outcome outcome;
  nlohmann::json st = {{"ociVersion", "1.0.2"},
                       {"id", "bench"},
                       {"status", "created"},
                       {"pid", 4242},
                       {"bundle", "/b"},
                       {"rootfs", "/b/rootfs"},
                       {"created", "2026-11-28T12:00:00.000000000Z"},
                       {"annotations", cfg.annotations},
                       {"owner", ""},
                       {"exit", nullptr}};
  st["nyx"] = {{"version", 1}, {"config", cfg.raw}, {"startTime", 123456}};
  st["hardening"] = nyx::hardening_json(outcome, false, {});
  return st;
}

void BM_StateDump(benchmark::State& st) {
  nlohmann::json state = sample_state();
  for (auto _ : st)
    benchmark::DoNotOptimize(state.dump(2));
}
BENCHMARK(BM_StateDump);

void BM_StateParse(benchmark::State& st) {
  std::string text = sample_state().dump(2);
  for (auto _ : st)
    benchmark::DoNotOptimize(nlohmann::json::parse(text));
}
BENCHMARK(BM_StateParse);

void BM_PublicState(benchmark::State& st) {
  nlohmann::json state = sample_state();
  for (auto _ : st)
    benchmark::DoNotOptimize(nyx::public_state(state, "running").dump(2));
}
BENCHMARK(BM_PublicState);

// `list` over 1000 state directories (stopped containers: pid 0), output to /dev/null.
void BM_List1000(benchmark::State& st) {
  TempDir root;
  nyx::StateStore store(root.path);
  nlohmann::json state = sample_state();
  state["pid"] = 0;
  for (int i = 0; i < 1000; ++i) {
    state["id"] = "c" + std::to_string(i);
    store.create("c" + std::to_string(i), state);
  }
  std::fflush(stdout);
  int saved = ::dup(1);
  int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ::dup2(null, 1);
  nyx::GlobalOptions g;
  g.root = root.path;
  for (auto _ : st)
    nyx::cmd_list(g, "table", false);
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  ::close(null);
}
BENCHMARK(BM_List1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

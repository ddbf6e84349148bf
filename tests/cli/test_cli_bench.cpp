// `latentkit-sample FILE bench`: its JSON carries every figure, the figures are sane, a decode in
// steady state allocates nothing, --profile splits the time by op, and bad flags are refused.
// On a small model (the seed-000 decoder with random weights), a few runs each.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "latentkit/model_writer.h"
#include "runtime/random_model.h"

using namespace latentkit::cli_test;
namespace lk = latentkit;

namespace {

void write_model(const fs::path& path, const lk::ModelDescription& description) {
  const std::vector<uint8_t> bytes = lk::serialize_model(description);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The value of "key" in a flat piece of JSON (the first one), as text; empty if absent.
std::string field(const std::string& json, const std::string& key) {
  const std::regex pattern("\"" + key + "\":(\"[^\"]*\"|[-+0-9.eE]+|true|false|null)");
  std::smatch m;
  return std::regex_search(json, m, pattern) ? m[1].str() : std::string();
}
double number(const std::string& json, const std::string& key) {
  const std::string text = field(json, key);
  INFO("field ", key, " in ", json);
  REQUIRE(!text.empty());
  REQUIRE(text != "null");
  return std::stod(text);
}

// The objects of the "batches" list, split at each "batch" key.
std::vector<std::string> batches(const std::string& json) {
  std::vector<std::string> parts;
  const std::string key = "{\"batch\":";
  for (std::size_t at = json.find(key); at != std::string::npos;) {
    const std::size_t next = json.find(key, at + 1);
    parts.push_back(json.substr(at, next == std::string::npos ? std::string::npos : next - at));
    at = next;
  }
  return parts;
}

// Allocations are counted by replacing malloc in latentkit-sample, which a sanitizer build does
// not do (the sanitizer owns malloc): there the JSON says so, and the count is not checked.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCounted = false;
#else
constexpr bool kCounted = true;
#endif

}  // namespace

TEST_CASE("latentkit-sample bench --json: every figure, sane, and no allocation per decode") {
  Scratch scratch("bench_json");
  const fs::path model = scratch.dir / "decoder.lkm";
  write_model(model, lk::testing::seed000_decoder(3));
  for (const char* backend : {"xnnpack", "reference"}) {
    INFO("backend ", backend);
    const Run r = run(sample_cli + " " + quoted(model) + " --backend " + backend +
                      " bench --batch 1,3,8 --runs 12 --warmup 2 --json");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string& json = r.out;
    CHECK(json.front() == '{');
    CHECK(json.find('\n') == json.size() - 1);  // one object, one line
    CHECK(field(json, "backend") == std::string("\"") + backend + "\"");
    CHECK(field(json, "method") == "\"decode\"");
    CHECK(number(json, "threads") == 1);
    CHECK(number(json, "warmup") == 2);
    CHECK(number(json, "load_ms") > 0);
    CHECK(number(json, "peak_rss_kib") > 1000);
    CHECK(field(json, "allocations_counted") == (kCounted ? "true" : "false"));
    const std::vector<std::string> per_batch = batches(json);
    REQUIRE(per_batch.size() == 3);
    const int expected[] = {1, 3, 8};
    for (std::size_t i = 0; i < per_batch.size(); ++i) {
      const std::string& b = per_batch[i];
      INFO(b);
      CHECK(number(b, "batch") == expected[i]);
      CHECK(number(b, "runs") == 12);
      CHECK(number(b, "build_ms") > 0);
      CHECK(number(b, "first_decode_ms") > 0);
      const double median = number(b, "median_ms"), p90 = number(b, "p90_ms");
      CHECK(number(b, "min_ms") > 0);
      CHECK(number(b, "min_ms") <= median);
      CHECK(median <= p90);
      CHECK(p90 <= number(b, "max_ms"));
      CHECK(number(b, "median_per_image_ms") == doctest::Approx(median / expected[i]).epsilon(1e-4));
      CHECK(number(b, "p90_per_image_ms") == doctest::Approx(p90 / expected[i]).epsilon(1e-4));
      if (kCounted) {
        // The runtime's promise (backend.h): decoding in steady state allocates nothing.
        CHECK(number(b, "allocations_per_decode") == 0);
        CHECK(number(b, "allocated_bytes_per_decode") == 0);
      } else {
        CHECK(field(b, "allocations_per_decode") == "null");
      }
      CHECK(field(b, "profile").empty());  // only with --profile
    }
  }
}

TEST_CASE("latentkit-sample bench: the allocation counter counts") {
  // The zeros above mean something only if the counter sees allocations: building a backend
  // allocates (buffers, packed weights), and the JSON reports those calls too.
  if (!kCounted) return;
  Scratch scratch("bench_counter");
  const fs::path model = scratch.dir / "decoder.lkm";
  write_model(model, lk::testing::seed000_decoder(4));
  for (const char* backend : {"xnnpack", "reference"}) {
    INFO("backend ", backend);
    const Run r = run(sample_cli + " " + quoted(model) + " --backend " + backend +
                      " bench --batch 2 --runs 3 --warmup 0 --json");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string b = batches(r.out).at(0);
    CHECK(number(b, "build_allocations") > 3);
    CHECK(number(b, "allocations_per_decode") == 0);
  }
}

TEST_CASE("latentkit-sample bench --profile: the time split by op, on both backends") {
  Scratch scratch("bench_profile");
  const fs::path model = scratch.dir / "decoder.lkm";
  write_model(model, lk::testing::seed000_decoder(5));
  for (const char* backend : {"xnnpack", "reference"}) {
    INFO("backend ", backend);
    const Run r = run(sample_cli + " " + quoted(model) + " --backend " + backend +
                      " bench --batch 2 --runs 5 --warmup 1 --profile --json");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string b = batches(r.out).at(0);
    CHECK(number(b, "sum_of_ops_ms") > 0);
    // One row per op for the reference backend (9 ops); XNNPACK keeps each ReLU with the op
    // before it (3 of them), so 6 rows.
    std::size_t rows = 0;
    for (std::size_t at = b.find("\"ops\":\""); at != std::string::npos; at = b.find("\"ops\":\"", at + 1)) ++rows;
    CHECK(rows == (std::string(backend) == "xnnpack" ? 6u : 9u));
    CHECK(b.find("transpose_conv2d") != std::string::npos);
    if (std::string(backend) == "xnnpack") CHECK(b.find("0 fully_connected + 1 relu") != std::string::npos);
    // Shares add up to 1.
    double shares = 0;
    const std::regex share("\"share\":([-+0-9.eE]+)");
    for (auto it = std::sregex_iterator(b.begin(), b.end(), share); it != std::sregex_iterator(); ++it) {
      shares += std::stod((*it)[1].str());
    }
    CHECK(shares == doctest::Approx(1.0).epsilon(1e-3));
  }
  // The readable table names the ops too.
  const Run table = run(sample_cli + " " + quoted(model) + " bench --batch 1 --runs 3 --profile");
  INFO(table.output);
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("per-op profile at batch 1") != std::string::npos);
  CHECK(table.out.find("allocs/decode") != std::string::npos);
}

TEST_CASE("latentkit-sample bench: bad flags are refused by name") {
  Scratch scratch("bench_flags");
  const fs::path model = scratch.dir / "decoder.lkm";
  write_model(model, lk::testing::seed000_decoder(6));
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{{"--batch 1,,2", "--batch: '' is not a batch size"},
                                         {"--batch 0", "--batch: '0' is not a batch size"},
                                         {"--batch 1,x", "--batch: 'x' is not a batch size"},
                                         {"--batch -3", "--batch"},
                                         {"--batch 5000", "from 1 to 4096"},
                                         {"--batch 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "at most 16 batch sizes"},
                                         {"--warmup -1", "--warmup"},
                                         {"--runs 0", "--runs"},
                                         {"--max-seconds 0", "--max-seconds"},
                                         {"--runs many", "--runs"}}) {
    INFO(c.args);
    const Run r = run(sample_cli + " " + quoted(model) + " bench " + c.args);
    CHECK(r.exit_code != 0);
    CHECK(!r.crashed());
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.out.empty());
  }
}

// tools/bench/compare.sh's first step, on a small model: the ONNX file lkm_to_onnx.py makes, run
// by ONNX Runtime (tools/bench/ort_bench.js, onnxruntime-node from tools/setup.sh), decodes the
// same latents to the same images as latentkit. A second of work: conversion through flatc and
// python3-onnx, one ONNX Runtime session.
TEST_CASE("lkm_to_onnx.py: ONNX Runtime decodes what latentkit decodes") {
  const std::string source = LATENTKIT_SOURCE_DIR;
  const std::string python = "/usr/bin/python3";  // Debian's, with python3-onnx (setup.sh)
  Scratch scratch("bench_onnx");
  const fs::path model = scratch.dir / "decoder.lkm", onnx = scratch.dir / "decoder.onnx";
  // A latent of 3 and random weights: the layout conversion (OHWI, HWC) is what can go wrong.
  write_model(model, lk::testing::seed000_decoder(7, 3));
  const Run converted = run(python + " " + source + "/tools/bench/lkm_to_onnx.py " + quoted(model) + " " + quoted(onnx) +
                            " --schema " + source + "/schema/latentkit.fbs");
  INFO(converted.output);
  REQUIRE(converted.exit_code == 0);
  const fs::path z = scratch.dir / "z.raw", ours = scratch.dir / "latentkit.raw", theirs = scratch.dir / "ort.raw";
  const Run sampled = run(sample_cli + " " + quoted(model) + " --save-latents " + quoted(z) + " --save-images " +
                          quoted(ours) + " sample -n 9 --seed 3 -o " + quoted(scratch.dir / "s.png"));
  INFO(sampled.output);
  REQUIRE(sampled.exit_code == 0);
  const Run ort = run("node " + source + "/tools/bench/ort_bench.js " + quoted(onnx) + " --input " + quoted(z) +
                      " --output " + quoted(theirs) + " --runs 1 --warmup 0");
  INFO(ort.output);
  REQUIRE(ort.exit_code == 0);
  CHECK(field(ort.out, "batch") == "9");
  const auto floats = [](const fs::path& path) {
    const std::string bytes = read_text(path);
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
    return values;
  };
  const std::vector<float> a = floats(ours), b = floats(theirs);
  REQUIRE(a.size() == 9u * 28 * 28);
  REQUIRE(b.size() == a.size());
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  CHECK(worst <= 1e-5f);
  // A model it cannot convert is refused by name (max unpooling), with no file written.
  const fs::path unpool = scratch.dir / "unpool.lkm", nothing = scratch.dir / "unpool.onnx";
  write_model(unpool, lk::testing::random_model(1));
  const Run refused = run(python + " " + source + "/tools/bench/lkm_to_onnx.py " + quoted(unpool) + " " +
                          quoted(nothing) + " --schema " + source + "/schema/latentkit.fbs");
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("is not converted") != std::string::npos);
  CHECK(!fs::exists(nothing));
}

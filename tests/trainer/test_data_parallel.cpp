// Data-parallel training (docs/distributed.md): ranks are child processes of the test (fork), as
// `latentkit train --nproc` starts them, meeting at a rendezvous store the test hosts on a port
// the system picks. Small runs on real MNIST images, 1 thread per rank.
//
//   - 2 ranks with batch B (B/2 each) end with the weights of 1 process with batch B, also when
//     the batch does not split evenly and a rank's share of the last batch is empty;
//   - a 2-rank CVAE run stopped by Ctrl-C on one rank and resumed ends bit for bit as the
//     uninterrupted 2-rank run (each rank's random stream restored from the checkpoint);
//   - a NaN on one rank stops both; a rank that dies, or never joins, makes the other exit with
//     an error naming the problem within the timeout.
#include "trainer/torch_doctest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/distributed/batch_shard.h"
#include "latentkit/trainer/distributed/process_group.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/training_loop.h"
#include "trainer/short_run.h"
#include "trainer/temp_dir.h"

namespace fs = std::filesystem;
namespace tr = latentkit::trainer;

namespace {

using latentkit::trainer_test::TempDir;

tr::TrainOptions small_run(const std::string& family, const fs::path& dir) {
  tr::TrainOptions o = latentkit::trainer_test::short_run(family, dir, 2, 32, 200, 50);
  o.eval_k = 4;
  o.eval_images = 20;
  o.latent_dims = family == "cvae" ? 2 : 8;
  o.binarization = family == "cvae" ? tr::Binarization::dynamic : tr::Binarization::none;
  return o;
}

struct RankResult {
  int status = 0;  // waitpid's
  std::string log; // its stderr
  double seconds = 0;  // from the start of the ranks to its end (rank 0's exact: waited for first)
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Runs tr::train in `world` child processes, rank r with `options` changed by adjust(options, r),
// all meeting at a store hosted here (world 1: one child, no process group). A child exits 0,
// 130 when interrupted, 1 with the error on stderr.
std::vector<RankResult> run_ranks(const tr::TrainOptions& base, int world, double timeout_seconds = 30,
                                  const std::function<void(tr::TrainOptions&, int)>& adjust = {},
                                  int ranks_to_start = -1) {
  std::unique_ptr<tr::StoreServer> store;
  if (world > 1) store = std::make_unique<tr::StoreServer>(timeout_seconds);
  const fs::path logs = fs::temp_directory_path() / ("latentkit_dp_logs_" + std::to_string(::getpid()));
  fs::create_directories(logs);
  const int started = ranks_to_start < 0 ? world : ranks_to_start;
  const auto start = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int r = 0; r < started; ++r) {
    tr::TrainOptions o = base;
    if (world > 1) {
      o.distributed.rank = r;
      o.distributed.world_size = world;
      o.distributed.master = "127.0.0.1:" + std::to_string(store->port());
      o.distributed.host_store = false;
      o.distributed.timeout_seconds = timeout_seconds;
    }
    if (adjust) adjust(o, r);
    const std::string log = (logs / ("rank" + std::to_string(r) + ".log")).string();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 2);
      int code = 0;
      try {
        torch::set_num_threads(1);
        code = tr::train(o).interrupted ? 130 : 0;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        code = 1;
      }
      std::fflush(stderr);
      ::_exit(code);
    }
    pids.push_back(pid);
  }
  std::vector<RankResult> results(started);
  for (int r = 0; r < started; ++r) {
    ::waitpid(pids[r], &results[r].status, 0);
    results[r].seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ifstream in(logs / ("rank" + std::to_string(r) + ".log"));
    std::stringstream text;
    text << in.rdbuf();
    results[r].log = text.str();
  }
  fs::remove_all(logs);
  return results;
}

void require_success(const std::vector<RankResult>& results) {
  for (std::size_t r = 0; r < results.size(); ++r) {
    INFO("rank ", r, ": ", results[r].log);
    REQUIRE(results[r].exit_code() == 0);
  }
}

// max |a - b| over every parameter of the two checkpoints' models, and that they are not all 0
// apart from the starting point (the runs trained).
double max_weight_difference(const std::string& a_path, const std::string& b_path) {
  tr::LoadedCheckpoint a = tr::load_checkpoint(a_path), b = tr::load_checkpoint(b_path);
  const auto ma = a.family->modules(), mb = b.family->modules();
  REQUIRE(ma.size() == mb.size());
  double worst = 0;
  for (std::size_t m = 0; m < ma.size(); ++m) {
    auto pa = ma[m].module->named_parameters(), pb = mb[m].module->named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (const auto& item : pa) {
      worst = std::max(worst, (item.value() - pb[item.key()]).abs().max().item<double>());
    }
  }
  return worst;
}

std::string checkpoint(const TempDir& dir) { return (dir.path / "checkpoint.pt").string(); }

}  // namespace

TEST_CASE("the sharded sampler splits a step's batch into disjoint parts that cover it") {
  for (int world : {1, 2, 3, 5}) {
    for (int64_t size : {0, 1, 4, 7, 32, 33}) {
      int64_t next = 100;
      for (int r = 0; r < world; ++r) {
        const tr::BatchShard s = tr::shard_of(100, 100 + size, r, world);
        CHECK(s.begin == next);  // contiguous, in rank order: disjoint and covering
        CHECK(s.size() >= size / world);
        CHECK(s.size() <= size / world + 1);
        next = s.end;
      }
      CHECK(next == 100 + size);
    }
  }
}

TEST_CASE("the test figures measured in parts and summed equal those of the whole set") {
  // What each rank measures of the test set, added up as the all-reduce does: the CVAE's noisy
  // ELBO and IWAE, and dae's corrupted images, draw the same noise for every image either way.
  torch::set_num_threads(1);
  const tr::ImageDataset test = tr::load_mnist_dir(LATENTKIT_MNIST_DIR, tr::Split::test, 700);
  for (const char* name : {"cvae", "dae"}) {
    INFO(name);
    torch::manual_seed(5);
    tr::FamilySettings settings;
    settings.latent_dims = 2;
    const auto family = tr::make_family(name, settings);
    const torch::Tensor images = tr::binarized_test_images(
        test, std::string(name) == "cvae" ? tr::Binarization::dynamic : tr::Binarization::none);
    tr::EvaluationRequest request;
    request.seed = 11;
    request.k = 5;
    request.k_images = 300;
    const tr::Evaluation whole = family->evaluate(images, request);
    // 3 parts of unequal size, one boundary inside an evaluation batch of 500 and one inside the
    // IWAE's first images.
    std::vector<double> sums;
    for (const auto& [begin, end] : std::vector<std::pair<int64_t, int64_t>>{{0, 123}, {123, 640}, {640, 700}}) {
      const std::vector<double> part = family->evaluation_sums(images, request, begin, end);
      if (sums.empty()) sums.assign(part.size(), 0.0);
      for (std::size_t i = 0; i < part.size(); ++i) sums[i] += part[i];
    }
    const tr::Evaluation parts = family->evaluation_from_sums(sums, request);
    REQUIRE(parts.figures.size() == whole.figures.size());
    for (std::size_t i = 0; i < whole.figures.size(); ++i) {
      INFO("figure ", i, ": whole ", whole.figures[i], ", parts ", parts.figures[i]);
      // float32 sums over other groupings of the images: rounding, not other noise (which would
      // move these figures by whole nats).
      CHECK(std::abs(parts.figures[i] - whole.figures[i]) <= 1e-6 * (1 + std::abs(whole.figures[i])));
    }
  }
}

TEST_CASE("2 ranks with half the batch each end with the weights of 1 process with the whole batch") {
  // ae: no noise in its steps, so the two runs differ only by float reduction order. Batch 33 of
  // 100 images: parts of 17 and 16, and a last batch of 1 image that rank 1 has no share of.
  TempDir one("one"), two("two");
  tr::TrainOptions o = small_run("ae", one.path);
  o.train_limit = 100;
  o.batch_size = 33;
  o.epochs = 2;
  o.learning_rate = 1e-3;
  require_success(run_ranks(o, 1));
  o.run_dir = two.path.string();
  const auto results = run_ranks(o, 2);
  require_success(results);
  CHECK(!fs::exists(two.path / "rank1"));  // rank 1 wrote nothing of its own
  const double difference = max_weight_difference(checkpoint(one), checkpoint(two));
  MESSAGE("max |weight difference| after 8 steps: ", difference);
  CHECK(difference < 1e-4);
  // The same runs differ visibly when the parts are averaged wrongly: a smaller batch changes them.
  TempDir other("other");
  o.run_dir = other.path.string();
  o.batch_size = 16;
  require_success(run_ranks(o, 1));
  CHECK(max_weight_difference(checkpoint(one), checkpoint(other)) > 1e-3);

  const tr::ResumeState state = tr::load_resume_state(checkpoint(two));
  CHECK(state.rank_torch_rngs.size(0) == 2);  // each rank's stream, for --resume
}

TEST_CASE("a 2-rank CVAE run interrupted on one rank and resumed ends as the uninterrupted 2-rank run") {
  TempDir straight("straight"), interrupted("interrupted");
  tr::TrainOptions o = small_run("cvae", straight.path);
  require_success(run_ranks(o, 2));

  // Ctrl-C on rank 1 only, after step 3: both ranks stop at the same step.
  o.run_dir = interrupted.path.string();
  const auto stopped = run_ranks(o, 2, 30, [](tr::TrainOptions& options, int rank) {
    if (rank == 1) {
      options.on_step = [](int64_t step) {
        if (step == 3) tr::request_stop();
      };
    }
  });
  for (const RankResult& r : stopped) {
    INFO(r.log);
    CHECK(r.exit_code() == 130);
  }
  REQUIRE(tr::load_resume_state(checkpoint(interrupted)).step == 3);

  const auto resumed = run_ranks(tr::resume_options(interrupted.path.string()), 2);
  require_success(resumed);
  CHECK(max_weight_difference(checkpoint(straight), checkpoint(interrupted)) == 0);  // bit for bit
  // The ranks drew different noise: the same run with one rank's stream for both would differ.
  const tr::ResumeState state = tr::load_resume_state(checkpoint(straight));
  CHECK(!torch::equal(state.rank_torch_rngs[0], state.rank_torch_rngs[1]));
}

TEST_CASE("ranks given different settings refuse to train, naming the difference") {
  TempDir dir("differ");
  tr::TrainOptions o = small_run("ae", dir.path);
  const auto results = run_ranks(o, 2, 30, [](tr::TrainOptions& options, int rank) {
    if (rank == 1) options.batch_size = 64;
  });
  for (const RankResult& r : results) {
    INFO(r.log);
    CHECK(r.exit_code() == 1);
    CHECK(r.log.find("differs from rank 0's") != std::string::npos);
  }
  CHECK(results[1].log.find("--batch 64") != std::string::npos);
  CHECK(!fs::exists(dir.path / "checkpoint.pt"));
}

TEST_CASE("a NaN on one rank stops every rank with the step named") {
  TempDir dir("nan");
  tr::TrainOptions o = small_run("ae", dir.path);
  o.inject_nan_at_step = 2;
  o.inject_nan_rank = 1;
  const auto results = run_ranks(o, 2);
  for (const RankResult& r : results) {
    INFO(r.log);
    CHECK(r.exit_code() == 1);
    CHECK(r.log.find("on 1 of 2 ranks") != std::string::npos);
    CHECK(r.log.find("at step 3") != std::string::npos);
  }
}

TEST_CASE("a rank that dies makes the other exit with an error within the timeout") {
  TempDir dir("dies");
  tr::TrainOptions o = small_run("ae", dir.path);
  o.epochs = 1000;  // would run for minutes
  const auto start = std::chrono::steady_clock::now();
  const auto results = run_ranks(o, 2, 10, [](tr::TrainOptions& options, int rank) {
    if (rank == 1) {
      options.on_step = [](int64_t step) {
        if (step == 5) ::raise(SIGKILL);
      };
    }
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("rank 0 stopped ", seconds, " s after the start; its message: ", results[0].log);
  CHECK(WIFSIGNALED(results[1].status));
  CHECK(results[0].exit_code() == 1);
  CHECK(results[0].log.find("another rank died") != std::string::npos);
  CHECK(seconds < 10 + 5);
}

TEST_CASE("a rank that stops answering makes the other exit with an error after the timeout") {
  TempDir dir("hangs");
  tr::TrainOptions o = small_run("ae", dir.path);
  o.epochs = 1000;
  const auto results = run_ranks(o, 2, 3, [](tr::TrainOptions& options, int rank) {
    if (rank == 1) {
      options.on_step = [](int64_t step) {
        if (step == 5) ::sleep(6);  // then fails too: rank 0 is gone
      };
    }
  });
  MESSAGE("rank 0 stopped after ", results[0].seconds, " s: ", results[0].log);
  CHECK(results[0].exit_code() == 1);
  CHECK(results[0].log.find("did not answer within 3 s") != std::string::npos);
  CHECK(results[1].exit_code() == 1);
  CHECK(results[0].seconds < 3 + 5);
}

TEST_CASE("a rank whose partner never joins exits with an error after the timeout") {
  TempDir dir("alone");
  tr::TrainOptions o = small_run("ae", dir.path);
  const auto start = std::chrono::steady_clock::now();
  const auto results = run_ranks(o, 2, 3, {}, /*ranks_to_start=*/1);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(results[0].log);
  CHECK(results[0].exit_code() == 1);
  CHECK(results[0].log.find("could not join") != std::string::npos);
  CHECK(seconds >= 3);
  CHECK(seconds < 3 + 5);
  CHECK(!fs::exists(dir.path / "checkpoint.pt"));
}

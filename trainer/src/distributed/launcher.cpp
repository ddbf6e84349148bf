#include "latentkit/trainer/distributed/launcher.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "latentkit/trainer/distributed/process_group.h"

namespace latentkit::trainer {

namespace {

volatile std::sig_atomic_t g_signals_to_forward = 0;
volatile std::sig_atomic_t g_last_signal = 0;

extern "C" void on_launcher_signal(int signal) {
  g_last_signal = signal;
  g_signals_to_forward = g_signals_to_forward + 1;
}

// SIGINT and SIGTERM are caught (not ignored) for as long as the ranks run; without SA_RESTART,
// so that waiting returns to forward them.
class ForwardedSignals {
 public:
  ForwardedSignals() {
    g_signals_to_forward = 0;
    struct sigaction action {};
    action.sa_handler = on_launcher_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &previous_int_);
    ::sigaction(SIGTERM, &action, &previous_term_);
  }
  ~ForwardedSignals() {
    ::sigaction(SIGINT, &previous_int_, nullptr);
    ::sigaction(SIGTERM, &previous_term_, nullptr);
  }
  ForwardedSignals(const ForwardedSignals&) = delete;
  ForwardedSignals& operator=(const ForwardedSignals&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

struct Rank {
  pid_t pid = -1;
  bool running = false;
  int status = 0;  // as waitpid reports it
};

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return "stopped";
}

bool succeeded(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
bool interrupted(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 130; }

}  // namespace

int launch_local_ranks(const std::string& program, const std::vector<std::string>& arguments, int nproc,
                       double timeout_seconds) {
  if (nproc < 2) throw std::invalid_argument("--nproc must be at least 2 to launch ranks");
  StoreServer store(timeout_seconds);
  const std::string master = "127.0.0.1:" + std::to_string(store.port());
  std::fprintf(stderr, "launching %d ranks on this machine (rendezvous at %s)\n", nproc, master.c_str());

  // Every argument vector is built before fork: between fork and exec the child may only make
  // async-signal-safe calls.
  std::vector<std::vector<std::string>> argv_text(nproc);
  std::vector<std::vector<char*>> argv(nproc);
  for (int r = 0; r < nproc; ++r) {
    argv_text[r].push_back(program);
    argv_text[r].insert(argv_text[r].end(), arguments.begin(), arguments.end());
    for (const std::string& flag : {std::string("--rank"), std::to_string(r), std::string("--world-size"),
                                    std::to_string(nproc), std::string("--master"), master,
                                    std::string("--launched")}) {
      argv_text[r].push_back(flag);
    }
    for (std::string& text : argv_text[r]) argv[r].push_back(text.data());
    argv[r].push_back(nullptr);
  }

  ForwardedSignals forwarded;
  std::vector<Rank> ranks(nproc);
  const pid_t launcher = ::getpid();
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      for (const Rank& started : ranks) {
        if (started.running) ::kill(started.pid, SIGKILL);
      }
      throw std::runtime_error(std::string("cannot start rank ") + std::to_string(r) + ": " + std::strerror(errno));
    }
    if (pid == 0) {
      // The rank starts with SIGINT blocked (the mask survives exec): a Ctrl-C passed on while it
      // is still loading stays pending until its training loop's handler takes it
      // (training_loop.cpp), instead of killing it before it could stop cleanly.
      sigset_t interrupt;
      sigemptyset(&interrupt);
      sigaddset(&interrupt, SIGINT);
      ::sigprocmask(SIG_BLOCK, &interrupt, nullptr);
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(1);  // the launcher died before prctl
      ::execv(argv[r][0], argv[r].data());
      const char message[] = "latentkit: cannot run the rank program\n";
      (void)!::write(2, message, sizeof message - 1);
      ::_exit(127);
    }
    ranks[r].pid = pid;
    ranks[r].running = true;
  }

  int forwarded_count = 0, running = nproc, first_failure = -1;
  std::chrono::steady_clock::time_point deadline{};
  while (running > 0) {
    while (forwarded_count < g_signals_to_forward) {
      ++forwarded_count;
      for (const Rank& rank : ranks) {
        if (rank.running) ::kill(rank.pid, g_last_signal == SIGTERM ? SIGTERM : SIGINT);
      }
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, first_failure >= 0 ? WNOHANG : 0);
    if (pid < 0 && errno == EINTR) continue;  // a signal to forward
    if (pid < 0) break;                       // no child left
    if (pid == 0) {
      // A rank failed and others still run: they fail on their own at their next collective;
      // after the timeout they are stopped.
      if (std::chrono::steady_clock::now() > deadline) {
        for (int r = 0; r < nproc; ++r) {
          if (!ranks[r].running) continue;
          std::fprintf(stderr, "latentkit: rank %d still runs %.0f s after rank %d failed: killing it\n", r,
                       timeout_seconds, first_failure);
          ::kill(ranks[r].pid, SIGKILL);
        }
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (int r = 0; r < nproc; ++r) {
      if (ranks[r].pid != pid) continue;
      ranks[r].running = false;
      ranks[r].status = status;
      --running;
      if (!succeeded(status) && !interrupted(status) && first_failure < 0) {
        first_failure = r;
        deadline = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000) + 5000);
      }
    }
  }

  if (first_failure >= 0) {
    std::fprintf(stderr, "latentkit: rank %d of %d %s; the run failed (each rank's own message is above)\n",
                 first_failure, nproc, describe(ranks[first_failure].status).c_str());
    const int status = ranks[first_failure].status;
    return WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1;
  }
  for (const Rank& rank : ranks) {
    if (interrupted(rank.status)) return 130;
  }
  return 0;
}

}  // namespace latentkit::trainer

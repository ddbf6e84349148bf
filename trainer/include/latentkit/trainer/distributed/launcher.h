// `latentkit train ... --nproc N`: N ranks of one data-parallel run on this machine, one process
// each, in the manner of torchrun. The launcher hosts the rendezvous store on 127.0.0.1 at a
// port the system picks (so concurrent jobs and tests never collide), starts the ranks as copies
// of this program with `--rank R --world-size N --master 127.0.0.1:PORT` added, and waits.
//
// The ranks run in a process group of their own, so that Ctrl-C reaches the launcher alone,
// which passes it on to every rank once: they stop together at the next step (a collective
// decision, training_loop.cpp) and rank 0 writes the checkpoint. A second Ctrl-C is passed on
// too and ends them as it ends a run of one process. If the launcher dies, the kernel stops the
// ranks (PR_SET_PDEATHSIG). If a rank fails, the others fail on their own at their next
// collective; any still running after the timeout are killed.
#pragma once

#include <string>
#include <vector>

namespace latentkit::trainer {

// Starts `nproc` ranks, each running `program` with `arguments` (argv[1..], without --nproc)
// followed by its rank flags, and returns the exit status for the launcher: 0 when every rank
// succeeded, 130 when the run was interrupted (Ctrl-C) and every rank stopped cleanly, else the
// first failing rank's status (at least 1), after a line on stderr naming that rank.
int launch_local_ranks(const std::string& program, const std::vector<std::string>& arguments, int nproc,
                       double timeout_seconds);

}  // namespace latentkit::trainer

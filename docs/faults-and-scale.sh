#!/usr/bin/env bash
# Runs the fault and scale tests of the operator on the real control plane and writes
# docs/faults-and-scale.md: what each test proves, whether it passed here, and the figures it
# printed (its BENCHMARK lines), with the machine and commit they come from.
#
#   docs/faults-and-scale.sh                          # every test below, the 100-run scale size
#   STEPWISE_SCALE_RUNS=1000 docs/faults-and-scale.sh ScaleBenchmarkE2E   # one test, 1000 runs
#   docs/faults-and-scale.sh --page-only [TEST...]    # the page again from the last run's log
#
# Extra Maven arguments go in MAVEN_ARGS (e.g. -Dstepwise.fault.seed=N to replay a seed, -o).
set -euo pipefail
cd "$(dirname "$0")/.."

# test | the key of its BENCHMARK lines | what it proves (the one home of these sentences)
read -r -d '' TESTS <<'EOF' || true
ScaleBenchmarkE2E|scale-e2e|N TrainingRuns (sft and rl alternating, suspended so that no pod runs; `-Dstepwise.scale.runs`, default 100) created in a burst after a first burst of min(N, 100) runs that warms the operator up (`-Dstepwise.scale.warmup`; its figures are printed too, not counted per run), against two floors measured in the same run: the raw Fabric8 client creating the very same children on the same API server with the same concurrency, once as the cluster's admin (for whom the API server skips its RBAC escalation checks) and once as the operator's own ServiceAccount (same identity, so the same checks on every Role and RoleBinding). Five measured bursts (`-Dstepwise.scale.bursts`), each with its floors: create → all children p50/p99 and their ratios to both floors (and the median ratios), where a run's time went (submit → first child, first → last child), the CPU per run of each process sharing the cores (API server with etcd, controller manager, operator, the test JVM, other pods) for the operator's burst and the floor's; for the first burst also: watch delivery time, operator writes per run (audit log), reconciles per run (the operator's `/q/metrics`, counted until none started for 5 s; asserted below 1.5 per run, plus one), heap per run (live objects of the class histogram after a full GC, with the classes that grew most; every class in `operator/target/scale-heap-growth.txt`), the operator's CPU time per run, last create → operator idle, and 0 operator writes in an idle window (asserted)
ApiWritesE2E|api-writes-e2e|operator writes per sft and rl run from the audit log (each child created once, no refused write: no 409, no 404), and 0 writes in an idle minute
OperatorKillE2E|operator-kill-e2e|the operator SIGKILLed at seeded random moments (`-Dstepwise.fault.kills`, default 6; `-Dstepwise.fault.seed=N` replays) while 3 runs train, retain and one resumes: all converge, Ready Checkpoints equal the complete checkpoints on each volume, no cleanup Job failed
LeaderElectionE2E|leader-election-e2e|two operator replicas with leader election (the chart upgraded in place to `replicaCount: 2`, then back): the leader SIGKILLed a seeded random moment after its first write for two new runs; another process takes the Lease within the lease duration (15 s; takeover time printed), both runs Succeed with every child created once, and the audit log (the two pods share a ServiceAccount and tell apart by the pod their bound token names) shows no operator write by a pod that did not hold the Lease at that moment
ApiServerRestartE2E|apiserver-restart-e2e|the API server stopped (etcd with it) while a run trains: training goes on, checkpoints completed meanwhile get their Checkpoint resources once it is back, the run completes; operator, controllers, kubelet and reporter reconnect by themselves
ApiFaultsE2E|api-faults-e2e|API errors between the operator and the API server: the chart upgraded in place (then back) so the operator reaches it only through a fault-injecting HTTPS proxy in the tests (`FaultProxy`, seeded: `-Dstepwise.fault.seed=N`), which answers 500s, 429s with `Retry-After`, 409s on writes (never forwarded), drops watch connections and delays responses, while an sft run (resumed by a spec patch) and an rl run train and retain: both Succeed with Ready Checkpoints == complete checkpoints, every object created once, the API server received exactly the writes the proxy forwarded, no write sent again sooner than the client's backoff (1 s: `quarkus.kubernetes-client.request-retry-backoff-interval`, as Fabric8 7.5.2 does not wait for `Retry-After` itself; `ApiRetryIT` checks reads on the mock server) or the `Retry-After`, a bounded request rate, and 0 operator writes in an idle window once the faults stop
TrainerKillE2E|trainer-kill-e2e|the trainer SIGKILLed (`-Dstepwise.fault.kills`, default 4, seeded) alternately while a checkpoint save is in flight (its step directory exists, its manifest does not) and right after a manifest is written, while the reporter creates its Checkpoint (moments from inotify on the run volume): each restart resumes from the newest complete checkpoint, never from a directory without a manifest; every checkpoint whose manifest preceded a kill gets its Checkpoint afterwards (resync), none twice; the run Succeeds with Ready Checkpoints == complete checkpoints
NamespaceDeletionE2E|namespace-deletion-e2e|a namespace holding a trained run (with Ready Checkpoints, each with its finalizer) and suspended runs deleted: the namespace is gone within 2 min (no finalizer left waiting for a cleanup Job the terminating namespace refuses) and the operator logs no error about it and no warning about a write it refuses (it neither retries nor reports the creates the API server refuses there); prints the time and the operator's refused requests
PreemptionE2E|preemption-e2e|`kubectl delete pod` of a training trainer: SIGTERM, a complete checkpoint reported with reason `Preemption` within the grace period (`spec.ckpt.stopGracePeriodSeconds`, default 60), and the StatefulSet's new pod resumes from it, not from the last interval checkpoint
EOF

page_only=false
if [ "${1:-}" = --page-only ]; then
  page_only=true
  shift
fi
selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
  mapfile -t selected < <(cut -d'|' -f1 <<<"$TESTS")
fi
its=$(IFS=,; echo "${selected[*]}")
log=operator/target/faults-and-scale.log
command_line=operator/target/faults-and-scale.command
mkdir -p operator/target
status=0
if ! $page_only; then
  {
    echo "STEPWISE_SCALE_RUNS=${STEPWISE_SCALE_RUNS:-100} MAVEN_ARGS='${MAVEN_ARGS:-}' docs/faults-and-scale.sh $*"
    echo "$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
  } >"$command_line"
  # shellcheck disable=SC2086
  mvn -B -ntp verify -DskipImages -pl crds,runtime,cluster,operator -Dtest=NONE \
    -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false \
    -Dit.test="$its" -Dstepwise.scale.runs="${STEPWISE_SCALE_RUNS:-100}" ${MAVEN_ARGS:-} \
    2>&1 | tee "$log" || status=$?
elif [ ! -f "$log" ] || [ ! -f "$command_line" ]; then
  echo "no earlier run: $log is missing; run docs/faults-and-scale.sh first" >&2
  exit 2
fi

result() { # passed | failed | not run, from the failsafe report of test class $1
  local report
  report=$(ls operator/target/failsafe-reports/TEST-*."$1".xml 2>/dev/null | head -1 || true)
  if [ -z "$report" ]; then echo "not run"; return; fi
  if grep -q '<testsuite[^>]* failures="0"[^>]* errors="0"' "$report" \
     || grep -q '<testsuite[^>]* errors="0"[^>]* failures="0"' "$report"; then
    echo "passed"
  else
    echo "**failed**"
  fi
}

figures() { # the BENCHMARK block(s) whose first line names $1
  local key=$1
  awk -v key="$key" '
    /^BENCHMARK / { on = index($0, key) > 0; if (on) print; next }
    on && /^  / { print; next }
    { on = 0 }' "$log"
}

page=docs/faults-and-scale.md
{
  echo "# Faults and scale on the real control plane"
  echo
  echo "Generated by \`$(sed -n 1p "$command_line")\`"
  echo "on $(date -u -r "$log" +%Y-%m-%d) at commit $(sed -n 2p "$command_line");"
  echo "machine: $(nproc) cores and $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) of memory, shared by"
  echo "the API server, etcd, the operator, the pods and the test JVM. Times are of this machine; ratios"
  echo "are against a baseline measured in the same run."
  echo
  echo "| test | what it proves | here |"
  echo "|---|---|---|"
  while IFS='|' read -r name _ proves; do
    [[ " ${selected[*]} " == *" $name "* ]] || continue
    echo "| \`$name\` | $proves | $(result "$name") |"
  done <<<"$TESTS"
  echo
  echo "## Figures"
  while IFS='|' read -r name key _; do
    [[ " ${selected[*]} " == *" $name "* ]] || continue
    echo
    echo "### $name"
    echo
    echo '```'
    figures "$key" || true
    echo '```'
  done <<<"$TESTS"
} >"$page"
echo "wrote $page (Maven exit status $status)"
exit "$status"

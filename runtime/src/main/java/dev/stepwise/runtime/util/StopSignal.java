package dev.stepwise.runtime.util;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * A graceful stop on SIGTERM or SIGINT (a preemption, a node drain, {@code kubectl delete pod},
 * Ctrl-C): the first signal asks the process to stop after the step in flight and save it; a second
 * signal, or {@code deadline} after the first, aborts: the save in progress stops before its
 * manifest, and if the process has not exited {@link #HALT_AFTER} later it is halted with {@link
 * #ABORTED_EXIT}. Without an installed handler the JVM's default applies (exit at once).
 */
public final class StopSignal {

  /** Exit status of an aborted stop, as a process killed by SIGTERM reports it (128 + 15). */
  public static final int ABORTED_EXIT = 143;

  /** How long an aborted process has to exit on its own before it is halted. */
  public static final Duration HALT_AFTER = Duration.ofSeconds(5);

  private static final Logger LOG = LoggerFactory.getLogger(StopSignal.class);

  private static final StopSignal NONE = new StopSignal(Duration.ZERO, false);

  private final Duration deadline;
  private final boolean halts;
  private final AtomicInteger signals = new AtomicInteger();
  private volatile boolean aborted;
  private volatile String signalName;

  private StopSignal(Duration deadline, boolean halts) {
    this.deadline = deadline;
    this.halts = halts;
  }

  /**
   * A stop signal that only {@link #received} fires, and that never halts the JVM: for a trainer
   * run inside another program (tests).
   */
  public static StopSignal manual(Duration deadline) {
    return new StopSignal(deadline, false);
  }

  /** A stop signal that never fires (checkpointing on signal is off). */
  public static StopSignal none() {
    return NONE;
  }

  /**
   * The stop signal of a role: with checkpointing and {@code ckpt.on-signal} on, SIGTERM and SIGINT
   * handlers when this JVM is a runtime process ({@code java -jar stepwise-runtime.jar} or {@code
   * java ... dev.stepwise.runtime.cli.Main}), a {@link #manual} one inside another program (a test
   * calling the CLI in-process must keep its JVM's own signal handling); else {@link #none}.
   */
  public static StopSignal forRole(dev.stepwise.runtime.config.CkptConfig ckpt) {
    if (ckpt == null || !ckpt.onSignal()) {
      return none();
    }
    var deadline = Duration.ofMillis((long) (ckpt.stopDeadline() * 1000));
    return ownsProcess() ? install(deadline) : manual(deadline);
  }

  private static boolean ownsProcess() {
    var command = System.getProperty("sun.java.command", "").trim();
    var first = command.split("\\s+", 2)[0];
    return first.equals("dev.stepwise.runtime.cli.Main") || first.endsWith(".jar");
  }

  /** Handles SIGTERM and SIGINT for this process from now on. */
  public static StopSignal install(Duration deadline) {
    var stop = new StopSignal(deadline, true);
    for (var name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), signal -> stop.received("SIG" + signal.getName()));
    }
    return stop;
  }

  /** What a signal does; public so that tests can deliver one without a real signal. */
  public void received(String name) {
    var count = signals.incrementAndGet();
    if (count == 1) {
      signalName = name;
      LOG.info(
          String.format(
              "%s received: finishing the step in flight, then saving a checkpoint (deadline %d"
                  + " s; a second signal aborts)",
              name, deadline.toSeconds()));
      daemon(
          "stop-deadline",
          () -> {
            sleep(deadline);
            if (!aborted) {
              abort("the stop deadline of " + deadline.toSeconds() + " s passed");
            }
          });
    } else if (count == 2) {
      abort("a second " + name + " arrived");
    }
  }

  private void abort(String why) {
    aborted = true;
    LOG.warn("stop aborted: " + why + "; the checkpoint in progress is abandoned");
    if (!halts) {
      return;
    }
    daemon(
        "stop-halt",
        () -> {
          sleep(HALT_AFTER);
          LOG.warn("stop aborted: halting now");
          Runtime.getRuntime().halt(ABORTED_EXIT);
        });
  }

  /** Whether a stop was asked for (a first signal arrived). */
  public boolean requested() {
    return signals.get() > 0;
  }

  /** Whether the stop was aborted (a second signal, or the deadline). */
  public boolean aborted() {
    return aborted;
  }

  /** The signal that asked for the stop, say {@code SIGTERM}; null before one arrived. */
  public String signalName() {
    return signalName;
  }

  private static void daemon(String name, Runnable body) {
    var thread = new Thread(body, name);
    thread.setDaemon(true);
    thread.start();
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

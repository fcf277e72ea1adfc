package dev.stepwise.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs checkpoint file tasks (one file each) on up to N threads started for the call and joined
 * before it returns, so no thread outlives the buffers it reads or fills and none lingers in a
 * pool. The calling thread works too. Results come back in task order; the first failure is
 * rethrown as it was thrown, after every task already started has finished.
 */
public final class ParallelIo {

  private ParallelIo() {}

  public static <T> List<T> run(List<Callable<T>> tasks, int threads, String name)
      throws IOException {
    var results = new Object[tasks.size()];
    var failure = new Throwable[1];
    var next = new AtomicInteger();
    Runnable worker =
        () -> {
          int i;
          while ((i = next.getAndIncrement()) < tasks.size()) {
            synchronized (failure) {
              if (failure[0] != null) {
                return;
              }
            }
            try {
              results[i] = tasks.get(i).call();
            } catch (Throwable t) {
              synchronized (failure) {
                if (failure[0] == null) {
                  failure[0] = t;
                }
              }
              return;
            }
          }
        };
    var helpers = new ArrayList<Thread>();
    for (var t = 1; t < Math.min(threads, tasks.size()); t++) {
      var thread = new Thread(worker, name + "-" + t);
      thread.setDaemon(true);
      thread.start();
      helpers.add(thread);
    }
    worker.run();
    var interrupted = false;
    for (var thread : helpers) {
      while (true) {
        try {
          thread.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true; // the helpers use our buffers: never return before they are done
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    var thrown = failure[0];
    if (thrown instanceof IOException e) {
      throw e;
    } else if (thrown instanceof RuntimeException e) {
      throw e;
    } else if (thrown instanceof Error e) {
      throw e;
    } else if (thrown != null) {
      throw new UncheckedIOException(new IOException(thrown));
    }
    @SuppressWarnings("unchecked")
    var list = (List<T>) Arrays.asList(results);
    return List.copyOf(list);
  }
}

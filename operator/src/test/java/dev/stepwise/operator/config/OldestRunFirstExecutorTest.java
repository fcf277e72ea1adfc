package dev.stepwise.operator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OldestRunFirstExecutorTest {

  @Test
  void queuedStepsRunOldestWorkflowFirstAndFollowUpsKeepTheirWorkflowsRank() throws Exception {
    var executor = new OldestRunFirstExecutor(1);
    var order = new CopyOnWriteArrayList<String>();
    var gate = new CountDownLatch(1);
    var done = new CountDownLatch(5);
    try {
      // The one thread is held, so everything below queues.
      executor.submit(
          () -> {
            gate.await();
            return null;
          });
      // Two reconciles on threads of their own: "older" starts its workflow first.
      var reconciles = Executors.newSingleThreadExecutor();
      reconciles
          .submit(
              () -> {
                OldestRunFirstExecutor.startingWorkflow();
                executor.submit(
                    () -> {
                      order.add("older-1");
                      // A step that finishes queues the next step of its workflow.
                      executor.submit(
                          () -> {
                            order.add("older-2");
                            done.countDown();
                          });
                      done.countDown();
                    });
                return null;
              })
          .get();
      var newer =
          Executors.newSingleThreadExecutor()
              .submit(
                  () -> {
                    OldestRunFirstExecutor.startingWorkflow();
                    executor.submit(
                        () -> {
                          order.add("newer-1");
                          done.countDown();
                        });
                    executor.submit(
                        () -> {
                          order.add("newer-2");
                          done.countDown();
                        });
                    return null;
                  });
      newer.get();
      // Queued after both, by a thread that started no workflow: the newest.
      executor.execute(
          () -> {
            order.add("unranked");
            done.countDown();
          });
      reconciles.shutdown();
      gate.countDown();
      assertTrue(done.await(10, TimeUnit.SECONDS), "every step ran: " + order);
      assertEquals(List.of("older-1", "older-2", "newer-1", "newer-2", "unranked"), order);
    } finally {
      executor.shutdownNow();
    }
  }
}

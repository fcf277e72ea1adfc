package dev.stepwise.cluster.kubelet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** In-cluster names become loopback addresses with stable, distinct local ports. */
class LocalNetworkTest {

  private final AtomicInteger nextPort = new AtomicInteger(40000);

  private final LocalNetwork network =
      new LocalNetwork(
          "ns",
          (service, port) ->
              service.equals("r-inference") && port == 8000
                  ? Optional.of(new LocalNetwork.Endpoint("deployment/r-inference/0", 8000))
                  : Optional.empty(),
          nextPort::getAndIncrement);

  @Test
  void serviceUrlLeadsToTheLocalPortOfTheServingSlot() {
    var url = network.rewrite("http://r-inference.ns.svc:8000");
    assertEquals("http://127.0.0.1:40000", url);
    assertEquals(40000, network.localPort("deployment/r-inference/0", 8000), "same port twice");
    assertEquals(
        "http://127.0.0.1:40000/v1/completions",
        network.rewrite("http://r-inference.ns.svc.cluster.local:8000/v1/completions"));
  }

  @Test
  void podAddressOfAHeadlessServiceIsThatPodsPort() {
    assertEquals("127.0.0.1", network.rewrite("r-trainer-0.r-trainer.ns.svc.cluster.local"));
    assertEquals(
        "tcp://127.0.0.1:40000", network.rewrite("tcp://r-trainer-1.r-trainer.ns.svc:29500"));
    assertEquals(40000, network.localPort("r-trainer-1", 29500));
    assertEquals(40001, network.localPort("r-trainer-0", 29500), "another pod, another port");
    assertEquals(
        Optional.of("r-trainer-0"), network.podOf("r-trainer-0.r-trainer.ns.svc.cluster.local"));
    assertEquals(Optional.empty(), network.podOf("r-inference.ns.svc"));
  }

  @Test
  void otherNamespacesUnknownServicesAndLookalikesAreLeftAlone() {
    assertEquals("http://db.other.svc:5432", network.rewrite("http://db.other.svc:5432"));
    assertEquals("http://127.0.0.1:9000", network.rewrite("http://unknown.ns.svc:9000"));
    assertEquals("x.ns.svcx", network.rewrite("x.ns.svcx"));
    assertEquals("/var/lib/stepwise/run", network.rewrite("/var/lib/stepwise/run"));
    assertEquals(
        "a=127.0.0.1:40000,b=127.0.0.1",
        network.rewrite("a=r-inference.ns.svc:8000,b=r-inference.ns.svc"));
  }
}

// The CPU an idle embedded Kafka broker (three topics, no clients) takes per second, in this JVM's Java threads
// (the JIT compiler and GC threads are not counted). Broker properties given as KEY=VALUE override the defaults.
// From the repository root after building (README):
//   java -XX:+UseSerialGC -cp "jobs/target/loupe-jobs-0.1.0-SNAPSHOT.jar:jobs/target/lib/*" docs/bench/IdleBroker.java 20
//   java ... docs/bench/IdleBroker.java 20 metadata.max.idle.interval.ms=60000
import dev.loupe.embedded.EmbeddedKafka;
import java.util.Map;
public class IdleBroker {
  public static void main(String[] a) throws Exception {
    Map<String,String> o = new java.util.HashMap<>();
    for (int i = 1; i < a.length; i++) { String[] kv = a[i].split("=",2); o.put(kv[0], kv[1]); }
    try (EmbeddedKafka k = new EmbeddedKafka(o).start()) {
      k.createTopics("a","b","c");
      Thread.sleep(5000);
      long t0 = System.nanoTime();
      var mx = java.lang.management.ManagementFactory.getThreadMXBean();
      long c0 = 0; for (long id : mx.getAllThreadIds()) { long c = mx.getThreadCpuTime(id); if (c > 0) c0 += c; }
      Thread.sleep(Long.parseLong(a[0]) * 1000);
      long c1 = 0; for (long id : mx.getAllThreadIds()) { long c = mx.getThreadCpuTime(id); if (c > 0) c1 += c; }
      System.out.printf("idle broker: %.1f ms CPU per second (Java threads alive at both ends)%n", (c1 - c0) / 1e6 / ((System.nanoTime() - t0) / 1e9));
    }
  }
}

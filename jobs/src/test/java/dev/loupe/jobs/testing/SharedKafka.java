package dev.loupe.jobs.testing;

import dev.loupe.embedded.EmbeddedKafka;

/** One embedded broker for all jobs tests in this JVM (started on first use, stopped at JVM exit). */
public final class SharedKafka {

    private static EmbeddedKafka kafka;

    private SharedKafka() {}

    public static synchronized EmbeddedKafka get() {
        if (kafka == null) {
            kafka = new EmbeddedKafka().start();
            EmbeddedKafka started = kafka;
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "shared-kafka-stop"));
        }
        return kafka;
    }
}

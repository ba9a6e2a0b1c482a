package dev.loupe.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;

/**
 * The main class of an {@link EmbeddedKafka} broker run in a process of its own ({@link EmbeddedKafka.Placement#PROCESS}):
 * starts a KRaft broker from a formatted log's properties file (the same server that runs in-process) and stops it
 * when its standard input ends, which is when the process that started it closes the pipe or dies, so that a broker
 * never outlives its owner.
 */
public final class BrokerMain {

    private BrokerMain() {}

    /** {@code args[0]}: the broker's properties file, its log already formatted. */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: BrokerMain SERVER_PROPERTIES");
            System.exit(2);
        }
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
            properties.load(in);
        }
        KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(properties), Time.SYSTEM);
        server.startup();
        // the owner holds our standard input open while it wants the broker; end of input (its close or its death)
        // stops the broker
        while (System.in.read() >= 0) {
            // nothing is sent on the pipe: wait for its end
        }
        server.shutdown();
        server.awaitShutdown();
        System.exit(0);
    }
}

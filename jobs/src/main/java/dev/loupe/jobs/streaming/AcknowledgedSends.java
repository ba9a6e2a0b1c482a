package dev.loupe.jobs.streaming;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Sends records through a producer and then waits for the broker's answer to each one. {@code Producer.flush()} alone
 * returns once every send has completed, successfully or not: a batch the broker did not take within
 * {@code delivery.timeout.ms} is dropped with its records and only the send's future says so. Writers of requests
 * use this so that a record that never reached the topic is an error naming it, never a silent gap in the input.
 *
 * <p>Producers writing to a topic that may have just been created should be {@link #orderedProducer ordered}:
 * Kafka brokers before 4.5 can append a producer's second batch to a new partition ahead of its first and then
 * refuse the first until it expires (KAFKA-15591), losing it despite idempotence and retries.
 */
public final class AcknowledgedSends<K, V> {

    private final Producer<K, V> producer;
    private final List<Pending> pending = new ArrayList<>();

    public AcknowledgedSends(Producer<K, V> producer) {
        this.producer = producer;
    }

    /**
     * Sets {@code producerProperties} to keep one request in flight per connection, so a batch is sent only after
     * the one before it was answered. Against a partition the broker does not lead yet (a topic created a moment
     * ago), a first batch refused with NOT_LEADER_OR_FOLLOWER is then retried before any later batch is sent; with
     * several in flight, brokers before Kafka 4.5 may append the later batch first and then refuse the first one
     * as out of sequence until {@code delivery.timeout.ms} drops it (KAFKA-15591). Idempotence keeps its default.
     */
    public static Properties orderedProducer(Properties producerProperties) {
        producerProperties.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        return producerProperties;
    }

    /** Sends {@code record} without waiting; {@code label} (e.g. the request id) names it should it not be written. */
    public void send(ProducerRecord<K, V> record, String label) {
        pending.add(new Pending(label, producer.send(record)));
    }

    /**
     * Flushes the producer and waits for every record sent since the last call.
     *
     * @return how many records the broker acknowledged
     * @throws NotWrittenException naming each record the broker did not acknowledge, with the first cause
     */
    public int awaitAll() throws InterruptedException {
        producer.flush();
        List<String> notWritten = new ArrayList<>();
        Throwable firstCause = null;
        int written = 0;
        for (Pending send : pending) {
            try {
                send.ack().get();
                written++;
            } catch (ExecutionException e) {
                notWritten.add(send.label());
                if (firstCause == null) {
                    firstCause = e.getCause();
                }
            }
        }
        pending.clear();
        if (!notWritten.isEmpty()) {
            throw new NotWrittenException(notWritten, written, firstCause);
        }
        return written;
    }

    private record Pending(String label, Future<RecordMetadata> ack) {}

    /** Records that the broker did not acknowledge: they are not in the topic. */
    public static final class NotWrittenException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        private final List<String> notWritten;

        NotWrittenException(List<String> notWritten, int written, Throwable cause) {
            super(notWritten.size() + " of " + (notWritten.size() + written) + " record(s) were not written: "
                    + summary(notWritten) + " (" + cause + ")", cause);
            this.notWritten = List.copyOf(notWritten);
        }

        /** The labels of the records not written, in the order they were sent. */
        public List<String> notWritten() {
            return notWritten;
        }

        private static String summary(List<String> labels) {
            return labels.size() <= 20 ? labels.toString()
                    : labels.subList(0, 10) + " ... " + labels.subList(labels.size() - 10, labels.size());
        }
    }
}

package dev.loupe.jobs.streaming;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Sends records through a producer and then waits for the broker's answer to each one. {@code Producer.flush()} alone
 * returns once every send has completed, successfully or not: a batch the broker did not take within
 * {@code delivery.timeout.ms} is dropped with its records and only the send's future says so. Writers of requests
 * use this so that a record that never reached the topic is an error naming it, never a silent gap in the input.
 */
public final class AcknowledgedSends<K, V> {

    private final Producer<K, V> producer;
    private final List<Pending> pending = new ArrayList<>();

    public AcknowledgedSends(Producer<K, V> producer) {
        this.producer = producer;
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

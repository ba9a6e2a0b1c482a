package dev.loupe.jobs.soak;

/**
 * How far the soak's writer may run ahead of the outcomes read back: request {@code i} is written only once fewer
 * than {@code lead} requests are without an outcome. The job then always has a backlog of about {@code lead}
 * requests, as under a stream it cannot keep up with, without the harness writing (and holding in its JVM, and the
 * broker taking in) the whole run's requests in its first seconds while the job already computes on the same
 * cores. Shared by the writer thread and the reader: {@link #awaitRoom(int)} blocks the writer until the reader's
 * {@link #accounted(int)} makes room, or {@link #close()} ends the run.
 */
final class WriteAhead {

    /** A writer that never waits: every request written as soon as it can be. */
    static final int UNBOUNDED = 0;

    private final int lead;
    private int accounted;
    private boolean closed;

    /** @param lead the most requests written without an outcome; {@link #UNBOUNDED} for no bound */
    WriteAhead(int lead) {
        if (lead < 0) {
            throw new IllegalArgumentException("the write-ahead must be >= 0 requests, got " + lead);
        }
        this.lead = lead;
    }

    /**
     * Waits until request {@code index} (0-based: {@code index} requests written before it) may be written;
     * false when the run was closed meanwhile, so the writer stops.
     */
    synchronized boolean awaitRoom(int index) throws InterruptedException {
        while (!closed && lead != UNBOUNDED && index - accounted >= lead) {
            wait();
        }
        return !closed;
    }

    /** The reader's count of requests with an outcome so far (it only grows). */
    synchronized void accounted(int count) {
        if (count > accounted) {
            accounted = count;
            notifyAll();
        }
    }

    /** Ends the run: a waiting writer returns, and no later request is written. */
    synchronized void close() {
        closed = true;
        notifyAll();
    }
}

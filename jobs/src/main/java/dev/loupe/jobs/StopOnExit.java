package dev.loupe.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Stops what a command runs in this process (its Flink job on the local MiniCluster, the embedded broker) on Ctrl-C or SIGTERM <em>before</em>
 * the JVM begins to exit, then exits with 128 + the signal's number. The order matters: ONNX Runtime's Java API
 * releases its environment (and with it the thread pools every session runs on) in a JVM shutdown hook of its own,
 * and shutdown hooks run all at once, so a hook of ours could not make the model's run in progress end first; the
 * process then died of a SIGSEGV in libonnxruntime when a streaming job was stopped mid-generation. Handling the
 * signals instead, the job is cancelled and its tasks closed (the inference operator waits for the model's run in
 * progress) while the JVM still runs normally; a JVM exit for any other reason keeps the shutdown hook as before.
 */
public final class StopOnExit implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StopOnExit.class);
    private static final List<String> SIGNALS = List.of("INT", "TERM");

    private final Runnable stop;
    private final Thread hook;
    private final AtomicBoolean ran = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final List<Signal> handled = new ArrayList<>();
    private final List<SignalHandler> previous = new ArrayList<>();

    private StopOnExit(String name, Runnable stop) {
        this.stop = stop;
        this.hook = new Thread(this::stopOnce, name);
    }

    /** Runs {@code stop} on Ctrl-C or SIGTERM (then exits), or on a JVM exit, that comes before {@link #close()}. */
    public static StopOnExit register(String name, Runnable stop) {
        StopOnExit onExit = new StopOnExit(name, stop);
        Runtime.getRuntime().addShutdownHook(onExit.hook);
        for (String signal : SIGNALS) {
            try {
                Signal s = new Signal(signal);
                onExit.previous.add(Signal.handle(s, onExit::onSignal));
                onExit.handled.add(s);
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                LOG.debug("cannot handle SIG{} here ({}); a JVM exit stops the job from its shutdown hook", signal,
                        e.toString());
            }
        }
        return onExit;
    }

    private void onSignal(Signal signal) {
        Thread stopping = new Thread(() -> {
            stopOnce();
            System.exit(128 + signal.getNumber());
        }, hook.getName() + "-" + signal.getName());
        stopping.start();
    }

    private void stopOnce() {
        if (ran.compareAndSet(false, true)) {
            try {
                stop.run();
            } finally {
                stopped.countDown();
            }
        }
    }

    /** Whether a signal or the JVM's exit ran the stop (the command's own stop is then not needed). */
    public boolean stoppedOnExit() {
        return ran.get();
    }

    /** Gives the signals back and unregisters the hook, or, when a stop has begun, waits for it to finish. */
    @Override
    public void close() throws InterruptedException {
        for (int i = 0; i < handled.size(); i++) {
            try {
                Signal.handle(handled.get(i), previous.get(i));
            } catch (IllegalArgumentException e) {
                LOG.debug("cannot restore the handler of {}: {}", handled.get(i), e.toString());
            }
        }
        if (!ran.get()) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException exiting) {
                // the JVM is exiting: the hook runs
            }
        }
        if (ran.get()) {
            stopped.await();
        }
    }
}

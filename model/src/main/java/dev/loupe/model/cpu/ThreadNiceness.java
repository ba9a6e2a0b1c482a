package dev.loupe.model.cpu;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.function.Predicate;
import java.util.logging.Logger;

/**
 * The Linux nice value of single threads, so that a process can share its cores on purpose: the threads that read,
 * decode and resize the next images run at a higher nice value than ONNX Runtime's threads, so the kernel gives the
 * model the cores whenever it computes and the image work fills the gaps between its runs (CFS weights a nice-10
 * thread about a tenth of a nice-0 one). On Linux a nice value is per thread ({@code setpriority(PRIO_PROCESS, tid)})
 * and inherited by threads the thread starts later; an unprivileged process can raise it but never lower it again,
 * so start every thread that must keep normal priority before lowering its parent. Elsewhere (or when the C
 * library cannot be reached) nothing changes and the methods say so.
 */
public final class ThreadNiceness {
    private static final Logger LOG = Logger.getLogger(ThreadNiceness.class.getName());
    /** {@code PRIO_PROCESS} of {@code <sys/resource.h>}: with a thread id, that one thread. */
    private static final int PRIO_PROCESS = 0;
    /** The highest (weakest) nice value Linux knows. */
    public static final int MAX = 19;

    private static final Libc LIBC = Libc.load();

    private ThreadNiceness() {}

    /** Whether per-thread nice values can be set in this process (Linux with a reachable C library). */
    public static boolean supported() {
        return LIBC != null;
    }

    /**
     * Raises the calling thread's nice value to {@code niceness} when it is below that (never lowers it: that needs
     * privileges). 0 does nothing.
     *
     * @return whether the thread now runs at {@code niceness} or weaker
     * @throws IllegalArgumentException when {@code niceness} is outside 0..19
     */
    public static boolean atLeast(int niceness) {
        check(niceness);
        if (niceness == 0) {
            return true;
        }
        if (LIBC == null) {
            return false;
        }
        int tid = LIBC.gettid();
        OptionalInt now = of(tid);
        if (now.isPresent() && now.getAsInt() >= niceness) {
            return true;
        }
        if (LIBC.setpriority(tid, niceness) != 0) {
            LOG.warning("cannot set thread " + tid + "'s nice value to " + niceness + " (setpriority failed)");
            return false;
        }
        return true;
    }

    /**
     * Raises the nice value of the JVM's JIT compiler threads ({@code C1 CompilerThread*}, {@code C2 CompilerThread*})
     * to {@code niceness} where it is below that. Compilation then runs where the model leaves a core idle instead of
     * in its place: while ONNX Runtime computes on every core, a method waits a little longer for its compiled code
     * (the interpreted code meanwhile runs on the task threads, niced too). Compiler threads the JVM adds later are
     * started by a compiler thread and inherit its value. 0 does nothing.
     *
     * @return how many compiler threads run at {@code niceness} or weaker now (0 where unsupported)
     * @throws IllegalArgumentException when {@code niceness} is outside 0..19
     */
    public static int compilerThreadsAtLeast(int niceness) {
        check(niceness);
        if (niceness == 0 || LIBC == null) {
            return 0;
        }
        int count = 0;
        for (int tid : threadsNamed(name -> name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre"))) {
            OptionalInt now = of(tid);
            if (now.isPresent() && now.getAsInt() >= niceness) {
                count++;
            } else if (LIBC.setpriority(tid, niceness) == 0) {
                count++;
            } else {
                LOG.warning("cannot set compiler thread " + tid + "'s nice value to " + niceness + " (setpriority failed)");
            }
        }
        return count;
    }

    /** {@code SCHED_IDLE} of {@code <sched.h>}: a thread that runs only where no other thread of its group wants the core. */
    private static final int SCHED_IDLE = 5;

    /**
     * Puts the calling thread in Linux's {@code SCHED_IDLE} class where it can (else at nice {@link #MAX}): it runs on
     * cores the process's other threads leave idle, and any of them that wakes takes the core from it at once (a
     * nice-19 thread still gets its small share of a contended core; an idle-class one is preempted on wake-up). For
     * a thread whose work only pays where it fills idle cycles; an unprivileged thread cannot leave the class again,
     * so give it a thread of its own.
     *
     * @return whether the thread now runs in the idle class or at nice {@link #MAX}
     */
    public static boolean idleClass() {
        if (LIBC == null) {
            return false;
        }
        if (LIBC.schedIdle(LIBC.gettid()) == 0) {
            return true;
        }
        LOG.fine("SCHED_IDLE refused; nice " + MAX + " instead");
        return atLeast(MAX);
    }

    /** Whether the calling thread runs in {@code SCHED_IDLE} ({@code /proc/self/task/TID/stat} field 41). */
    public static boolean inIdleClass() {
        if (LIBC == null) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc/self/task", Integer.toString(LIBC.gettid()), "stat"),
                    StandardCharsets.US_ASCII);
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            return Integer.parseInt(fields[38]) == SCHED_IDLE;   // field 41 = 39th after ')'
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** This process's thread ids whose name ({@code /proc/self/task/TID/comm}, 15 characters) matches. */
    static List<Integer> threadsNamed(Predicate<String> name) {
        List<Integer> tids = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    if (name.test(Files.readString(task.resolve("comm"), StandardCharsets.UTF_8).strip())) {
                        tids.add(Integer.parseInt(task.getFileName().toString()));
                    }
                } catch (IOException | NumberFormatException e) {
                    // the thread ended while we looked: nothing to change
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        return tids;
    }

    /** The calling thread's nice value, when this platform has them. */
    public static OptionalInt current() {
        return LIBC == null ? OptionalInt.empty() : of(LIBC.gettid());
    }

    /** The calling thread's kernel thread id, when this platform has them (Linux). */
    public static OptionalInt currentThreadId() {
        return LIBC == null ? OptionalInt.empty() : OptionalInt.of(LIBC.gettid());
    }

    /** A thread's nice value from {@code /proc/self/task/TID/stat} (field 19), when it can be read. */
    public static OptionalInt of(int tid) {
        try {
            String stat = Files.readString(Path.of("/proc/self/task", Integer.toString(tid), "stat"),
                    StandardCharsets.US_ASCII);
            // the command name (field 2) is in parentheses and may hold spaces: count fields after its ')'
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            return OptionalInt.of(Integer.parseInt(fields[16]));   // field 19 = 3rd after ')' is field 3
        } catch (IOException | RuntimeException e) {
            return OptionalInt.empty();
        }
    }

    static void check(int niceness) {
        if (niceness < 0 || niceness > MAX) {
            throw new IllegalArgumentException("a nice value must be 0.." + MAX + ", got " + niceness);
        }
    }

    /** The two C library calls, looked up once. */
    private record Libc(Function gettidFunction, Function setpriorityFunction, Function schedSetschedulerFunction) {
        static Libc load() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
                return null;
            }
            try {
                NativeLibrary c = NativeLibrary.getInstance("c");
                return new Libc(c.getFunction("gettid"), c.getFunction("setpriority"),
                        c.getFunction("sched_setscheduler"));
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                LOG.info("per-thread nice values unavailable: " + e.getMessage());
                return null;
            }
        }

        int gettid() {
            return gettidFunction.invokeInt(new Object[0]);
        }

        int setpriority(int tid, int niceness) {
            return setpriorityFunction.invokeInt(new Object[] {PRIO_PROCESS, tid, niceness});
        }

        /** {@code sched_setscheduler(tid, SCHED_IDLE, {0})}: 0 on success. */
        int schedIdle(int tid) {
            try (Memory param = new Memory(Integer.BYTES)) {
                param.setInt(0, 0); // struct sched_param { int sched_priority; }: 0 for SCHED_IDLE
                return schedSetschedulerFunction.invokeInt(new Object[] {tid, SCHED_IDLE, param});
            }
        }
    }
}

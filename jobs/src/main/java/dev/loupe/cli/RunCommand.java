package dev.loupe.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder until its issue lands: refuses clearly instead of pretending. */
@Command(name = "run", description = "Not available yet in this build.")
public final class RunCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("loupe run: not available yet in this build");
        return 2;
    }
}

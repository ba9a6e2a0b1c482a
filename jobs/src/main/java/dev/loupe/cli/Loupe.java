package dev.loupe.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code loupe} command line: one launcher, one subcommand per job or tool. */
@Command(
        name = "loupe",
        mixinStandardHelpOptions = true,
        version = "loupe 0.1.0",
        description = "Annotate images at scale with instruction-following vision-language models.",
        subcommands = {
            ConvertCommand.class,
            AnnotateCommand.class,
            BenchCommand.class,
            RunCommand.class,
            CaptionCommand.class,
            EnrichCommand.class,
            SendCommand.class,
            TailCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Loupe implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line in-process and returns its exit status (used by tests). */
    public static int execute(String... args) {
        CommandLine cli = commandLine();
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            // Operational errors (missing model, unreadable file ...) are one clear line, not a stack trace.
            commandLine.getErr().println("loupe " + commandLine.getCommandName() + ": " + e.getMessage());
            if (System.getenv("LOUPE_DEBUG") != null) {
                e.printStackTrace(commandLine.getErr());
            }
            return 2;
        });
        return cli.execute(args);
    }

    /** The command line with every subcommand, the configured ones with their options (see {@link ConfiguredCommand}). */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Loupe());
        ConfiguredCommand.install(cli);
        KafkaClientCommand.install(cli);
        RuntimeCommand.install(cli);
        return cli;
    }
}

package dev.strata.cli;

import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code strata} command line. Exit status: 0 success, 1 error, 2 usage, 3 not found,
 * 4 conflict, 5 server unreachable, 6 not signed in or not allowed, 7 audit trail broken ({@code strata audit verify});
 * {@code strata scrub}, {@code fsck} and {@code repair} exit 1 when they leave damage on disk.
 */
@Command(name = "strata", mixinStandardHelpOptions = true, version = "strata 0.1.0",
        description = {"Versioned, deduplicated storage for models, checkpoints and training data.", "",
                "Start a server with `strata serve`; the other commands talk to it at $STRATA_URL",
                "(default http://127.0.0.1:8470, or `url=` in ~/.config/strata/config.properties).",
                "Every request carries an API token: sign in once with `strata login` (the first start of a",
                "server writes the admin's token to DATA/admin.token).",
                "Revisions are written REPO@REV: a branch, a tag or a commit id prefix, with ~N for ancestors",
                "(lab/chimera@run-42~1)."})
public final class Main implements Runnable {
    /** The subcommands, in the order `strata --help` lists them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(ServeCommand.class, LoginCommand.class, LogoutCommand.class,
            WhoamiCommand.class, RepoCommand.class, PushCommand.class, PullCommand.class, CatCommand.class, BranchCommand.class,
            TagCommand.class, LogCommand.class, ShowCommand.class, FindCommand.class, LineageCommand.class, DiffCommand.class,
            StatsCommand.class, RetentionCommand.class, GcCommand.class, CompactCommand.class, ScrubCommand.class,
            FsckCommand.class, RepairCommand.class, BackupCommand.class, RestoreCatalogCommand.class, UserCommand.class,
            GroupCommand.class, TokenCommand.class, MemberCommand.class, ProtectCommand.class, GrantCommand.class,
            AuditCommand.class, ReplicationCommand.class, DrillCommand.class, TrainStartupCommand.class, CommandLine.HelpCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Raw standard output, for commands that write bytes (cat). */
    java.io.OutputStream stdout = System.out;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        return run(System.out, new java.io.PrintWriter(System.err, true), args);
    }

    /**
     * Registers only the subcommand that {@code args} names, or all of them (no or an unknown
     * name, {@code help}, root options). Building picocli's model of all 34 commands costs about
     * 0.3 s of start-up, which every push and pull would pay (docs/benchmarks.md, "Transfer").
     */
    static void addSubcommands(CommandLine cl, String[] args) {
        String first = args.length == 0 ? "" : args[0];
        for (Class<?> c : SUBCOMMANDS) {
            if (c.getAnnotation(Command.class).name().equals(first) && !"help".equals(first)) {
                cl.addSubcommand(c);
                return;
            }
        }
        SUBCOMMANDS.forEach(cl::addSubcommand);
    }

    /** Runs one command with the given output streams (tests and embedding). */
    public static int run(java.io.OutputStream stdout, java.io.PrintWriter err, String... args) {
        Main main = new Main();
        main.stdout = stdout;
        CommandLine cl = new CommandLine(main);
        addSubcommands(cl, args);
        cl.setOut(new java.io.PrintWriter(new java.io.OutputStreamWriter(stdout, java.nio.charset.StandardCharsets.UTF_8), true));
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> Cli.report(e, cmd));
        try {
            return cl.execute(args);
        } finally {
            Cli.closeClients();
        }
    }
}

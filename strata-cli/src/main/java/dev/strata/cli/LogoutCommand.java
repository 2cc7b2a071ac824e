package dev.strata.cli;

import java.io.IOException;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "logout", mixinStandardHelpOptions = true,
        description = "Forget the token saved by `strata login` (it stays valid on the server: revoke it with `strata token revoke`).")
final class LogoutCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Properties cfg = Cli.userConfig();
        if (cfg.remove("token") == null) {
            Cli.out(spec).println("Not signed in.");
            return 0;
        }
        LoginCommand.save(Cli.configFile(), cfg);
        Cli.out(spec).println("Signed out; token removed from " + Cli.configFile());
        return 0;
    }
}

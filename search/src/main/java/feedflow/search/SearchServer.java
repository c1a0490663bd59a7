package feedflow.search;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Embedded OpenSearch for the local dev stack: one node, HTTP on loopback, no security plugin.
 * Usage: SearchServer [homeDir]  (else env SEARCH_HOME, else ./search-data); port from env SEARCH_PORT.
 * Bootstrap checks and the security manager belong to OpenSearch's own Bootstrap, which embedding skips.
 */
public final class SearchServer {
  public static void main(String[] args) throws Exception {
    Path home = Path.of(args.length > 0 ? args[0] : env("SEARCH_HOME", "search-data")).toAbsolutePath();
    String host = env("SEARCH_HOST", "127.0.0.1");
    String port = env("SEARCH_PORT", "9200");
    Path config = Files.createDirectories(home.resolve("config"));
    // The plugin and module folders are scanned at start; empty ones mean "only the classpath plugins".
    Files.createDirectories(home.resolve("plugins"));
    Files.createDirectories(home.resolve("modules"));
    Settings settings = Settings.builder()
        .put("path.home", home.toString())
        .put("path.data", home.resolve("data").toString())
        .put("path.logs", home.resolve("logs").toString())
        .put("cluster.name", "feedflow")
        .put("node.name", "feedflow-search")
        .put("discovery.type", "single-node")
        .put("network.host", host)
        .put("http.port", port)
        // Transport is unused by a single node but always binds; a range avoids clashing with another node.
        .put("transport.port", env("SEARCH_TRANSPORT_PORT", "9300-9399"))
        // A dev box's disk is often over the 90% watermark; that must not turn the indices read-only.
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .put("action.auto_create_index", false)
        .build();
    writeLogConfig(config);
    Environment environment = new Environment(settings, config);
    LogConfigurator.registerErrorListener();
    LogConfigurator.configure(environment);

    Node node = new EmbeddedNode(environment, classpathPlugins());
    CountDownLatch stopped = new CountDownLatch(1);
    // SIGTERM/SIGINT run shutdown hooks: close the node so the next start needs no recovery.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("SearchServer: shutting down");
      try {
        node.close();
        node.awaitClose(10, TimeUnit.SECONDS);
      } catch (IOException | InterruptedException e) {
        System.err.println("SearchServer: close failed: " + e);
      }
      System.out.println("SearchServer: stopped");
      stopped.countDown();
    }, "search-shutdown"));

    node.start();
    // HTTP listens once start() returns; also wait until the node has elected itself and recovered its indices.
    node.client().admin().cluster().prepareHealth().setWaitForYellowStatus().get();
    System.out.printf("SearchServer ready http://%s:%s home=%s%n", host, port, home);
    stopped.await(); // keep the JVM alive; the shutdown hook releases this
  }

  /** HTTP over Netty (the REST API) and the common analysis module (English stemmer, stop words). */
  private static List<Class<? extends Plugin>> classpathPlugins() {
    return List.of(Netty4Plugin.class, CommonAnalysisPlugin.class);
  }

  /** OpenSearch reads its logging setup from the config folder; ours is console-only (stdout is the log). */
  private static void writeLogConfig(Path config) throws IOException {
    try (InputStream in = SearchServer.class.getResourceAsStream("/feedflow-search-log4j2.properties")) {
      if (in == null) throw new IOException("log config resource missing from the launcher jar");
      Files.copy(in, config.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : v;
  }

  private static final class EmbeddedNode extends Node {
    EmbeddedNode(Environment environment, List<Class<? extends Plugin>> plugins) {
      super(environment, plugins, true);
    }
  }
}

package feedflow.graph;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * Embedded Neo4j Community for the local dev stack: Bolt only, loopback, no auth.
 * Usage: GraphServer [homeDir]  (else env GRAPH_HOME, else ./graph-data); port from env GRAPH_PORT.
 */
public final class GraphServer {
  public static void main(String[] args) throws InterruptedException {
    Path home = Path.of(args.length > 0 ? args[0] : env("GRAPH_HOME", "graph-data")).toAbsolutePath();
    String host = env("GRAPH_HOST", "127.0.0.1");
    int port = Integer.parseInt(env("GRAPH_PORT", "7687"));
    long pageCacheMb = Long.parseLong(env("GRAPH_PAGECACHE_MB", "256"));

    DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
        .setConfig(BoltConnector.enabled, true)
        .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
        .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
        .setConfig(HttpConnector.enabled, false)
        .setConfig(GraphDatabaseSettings.auth_enabled, false)
        .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
        // Bolt waits 5 s + 5 s for idle threads/connections on shutdown; 1 s keeps `stack down` snappy.
        .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
        .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
        .build();

    // SIGTERM/SIGINT run shutdown hooks: close the store cleanly so the next start needs no recovery.
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("GraphServer: shutting down");
      dbms.shutdown();
      System.out.println("GraphServer: stopped");
      stopped.countDown();
    }, "graph-shutdown"));

    // Bolt is listening once build() returns; also wait for the default database to be online.
    if (!dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).isAvailable(60_000)) {
      System.err.println("GraphServer: default database did not become available");
      System.exit(1);
    }
    System.out.printf("GraphServer ready bolt://%s:%d home=%s%n", host, port, home);
    stopped.await(); // keep the JVM alive; the shutdown hook releases this
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : v;
  }
}

import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;
import org.apache.cassandra.security.PEMBasedSslContextFactory;

/**
 * Loads PEM key and trust stores with Cassandra's own PEMBasedSslContextFactory, given the
 * parameters k8ssandra-operator puts into client/server_encryption_options; prints "ok" or throws.
 * Run as a single-file program: java -cp "<cassandra lib>/*" StoresCheck.java KEYSTORE PASSWORD
 * TRUSTSTORE TRUSTSTORE_PASSWORD
 */
public class StoresCheck {
    public static void main(String[] args) throws Exception {
        Map<String, Object> params = new HashMap<>();
        params.put("keystore", args[0]);
        params.put("keystore_password", args[1]);
        params.put("truststore", args[2]);
        params.put("truststore_password", args[3]);
        PEMBasedSslContextFactory factory = new PEMBasedSslContextFactory(params);
        String[] builders = {
            "buildKeyManagerFactory", "buildOutboundKeyManagerFactory", "buildTrustManagerFactory"
        };
        for (String name : builders) {
            Method method = factory.getClass().getDeclaredMethod(name);
            method.setAccessible(true);
            method.invoke(factory);
        }
        System.out.println("ok");
    }
}

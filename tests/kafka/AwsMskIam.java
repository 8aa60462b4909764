// Test-only AWS_MSK_IAM for the kwal test broker: a SASL server that recomputes the SigV4 signature, and a checker.
//
// Amazon MSK's broker side of AWS_MSK_IAM is not public, so the test broker gets this one. It is compiled by
// tests/kafka/broker against the broker's jars and put on its classpath; `security.providers=AwsMskIam$ProviderCreator`
// registers SaslServerFactory.AWS_MSK_IAM, and the listener's
// `sasl.server.callback.handler.class=AwsMskIam$ServerCallbacks` reads the JAAS options:
//   region="us-east-1" host="127.0.0.1" keys="AKID:SECRET[:SESSION_TOKEN],..." [session_ms="900000"]
// session_ms is the session lifetime the broker announces (CREDENTIAL.LIFETIME.MS): with it the broker accepts
// KIP-368 re-authentication even without connections.max.reauth.ms, as MSK's sessions expire too.
// The server accepts one client message, the JSON document aws-msk-iam-auth (and franz-go, and kwal) send:
// version 2020_10_22, action kafka-cluster:Connect, x-amz-* fields signed over the presigned-style request
//   GET /?Action=...&X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Date=...&X-Amz-Expires=...
//       [&X-Amz-Security-Token=...]&X-Amz-SignedHeaders=host   with header host:HOST and an empty body,
// and refuses with a SaslAuthenticationException (its message is what the client sees) a wrong key or secret
// (signature mismatch), a date more than X-Amz-Expires in the past or more than 5 minutes ahead, another host,
// region, action or version, and a missing or different session token. The authorization id is the access key.
//
// `java -cp LIB/*:DIR AwsMskIam selftest` checks the signing against AWS's published SigV4 examples;
// `java -cp LIB/*:DIR AwsMskIam connect HOST PORT AKID SECRET TOKEN|- REGION [SKEW_S [ACTION [SIGNED_HOST]]]`
// runs SaslHandshake + SaslAuthenticate over a raw socket and exits 0 when the broker accepts;
// `... AwsMskIam check HOST PORT REGION AKID SECRET SESSION_AKID SESSION_SECRET SESSION_TOKEN` is `broker check`'s:
// the self-test, then good and bad payloads of every kind against the listener.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.SecurityProviderCreator;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.Provider;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import javax.security.sasl.SaslServerFactory;

public final class AwsMskIam {
    public static final String MECHANISM = "AWS_MSK_IAM";
    static final String VERSION = "2020_10_22";
    static final String ACTION = "kafka-cluster:Connect";
    static final String SERVICE = "kafka-cluster";
    static final long MAX_AHEAD_S = 300; // clock skew tolerated for a date in the future
    static final DateTimeFormatter AMZ_DATE =
        DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private AwsMskIam() {}

    // ---- SigV4 -----------------------------------------------------------------------------------------------

    static byte[] hmac(byte[] key, String msg) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            return m.doFinal(msg.getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x & 0xff));
        return s.toString();
    }

    static String sha256Hex(String s) {
        try {
            return hex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] signingKey(String secret, String date8, String region, String service) {
        byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date8);
        k = hmac(k, region);
        k = hmac(k, service);
        return hmac(k, "aws4_request");
    }

    // RFC 3986 unreserved characters stay, every other UTF-8 byte becomes %XX.
    static String uriEncode(String s) {
        StringBuilder o = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~') {
                o.append((char) c);
            } else {
                o.append(String.format("%%%02X", c));
            }
        }
        return o.toString();
    }

    // The canonical request of a query-signed GET with the one signed header "host".
    static String canonicalRequest(String path, Map<String, String> params, String host, String payloadHash) {
        TreeMap<String, String> sorted = new TreeMap<>();
        for (Map.Entry<String, String> e : params.entrySet()) sorted.put(uriEncode(e.getKey()), uriEncode(e.getValue()));
        StringBuilder q = new StringBuilder();
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            if (q.length() > 0) q.append('&');
            q.append(e.getKey()).append('=').append(e.getValue());
        }
        return "GET\n" + path + "\n" + q + "\nhost:" + host + "\n\nhost\n" + payloadHash;
    }

    static String sign(String secret, String amzDate, String region, String service, String canonical) {
        String scope = amzDate.substring(0, 8) + "/" + region + "/" + service + "/aws4_request";
        String sts = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonical);
        return hex(hmac(signingKey(secret, amzDate.substring(0, 8), region, service), sts));
    }

    // The x-amz-* parameters of the MSK payload, as the query string they stand for.
    static Map<String, String> mskParams(String action, String credential, String amzDate, String expires, String token) {
        Map<String, String> p = new HashMap<>();
        p.put("Action", action);
        p.put("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
        p.put("X-Amz-Credential", credential);
        p.put("X-Amz-Date", amzDate);
        p.put("X-Amz-Expires", expires);
        p.put("X-Amz-SignedHeaders", "host");
        if (token != null) p.put("X-Amz-Security-Token", token);
        return p;
    }

    static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    // ---- the server --------------------------------------------------------------------------------------------

    static final class Key {
        final String secret, token;
        Key(String secret, String token) { this.secret = secret; this.token = token; }
    }

    // Reads the listener's JAAS options; the SaslServer asks it for the cluster's settings.
    public static final class ServerCallbacks implements AuthenticateCallbackHandler {
        String region, host;
        long sessionMs = 900_000;
        final Map<String, Key> keys = new HashMap<>();

        @Override
        public void configure(Map<String, ?> configs, String mechanism, List<AppConfigurationEntry> jaas) {
            for (AppConfigurationEntry e : jaas) {
                Map<String, ?> o = e.getOptions();
                region = (String) o.get("region");
                host = (String) o.get("host");
                String sm = (String) o.get("session_ms");
                if (sm != null) sessionMs = Long.parseLong(sm);
                String ks = (String) o.get("keys");
                if (ks != null) {
                    for (String k : ks.split(",")) {
                        String[] f = k.split(":", 3);
                        if (f.length >= 2) keys.put(f[0], new Key(f[1], f.length == 3 ? f[2] : null));
                    }
                }
            }
            if (region == null || host == null || keys.isEmpty())
                throw new IllegalArgumentException("AWS_MSK_IAM test server: the JAAS options need region, host, keys");
        }

        @Override
        public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
            if (callbacks.length > 0) throw new UnsupportedCallbackException(callbacks[0]);
        }

        @Override
        public void close() {}
    }

    static final class Server implements SaslServer {
        final ServerCallbacks cfg;
        String authzId;
        boolean done;
        long expiresMs;

        Server(ServerCallbacks cfg) { this.cfg = cfg; }

        @Override
        public String getMechanismName() { return MECHANISM; }

        static String field(JsonNode o, String name) {
            JsonNode v = o.get(name);
            if (v == null || !v.isTextual()) throw new SaslAuthenticationException("AWS_MSK_IAM: the payload has no \"" + name + "\"");
            return v.asText();
        }

        @Override
        public byte[] evaluateResponse(byte[] response) throws SaslException {
            if (done) throw new SaslAuthenticationException("AWS_MSK_IAM: the exchange is over");
            JsonNode o;
            try {
                o = new ObjectMapper().readTree(response);
            } catch (Exception e) {
                throw new SaslAuthenticationException("AWS_MSK_IAM: the payload is not JSON");
            }
            if (o == null || !o.isObject()) throw new SaslAuthenticationException("AWS_MSK_IAM: the payload is not a JSON object");
            String version = field(o, "version");
            if (!VERSION.equals(version)) throw new SaslAuthenticationException("AWS_MSK_IAM: unknown version " + version);
            String action = field(o, "action");
            if (!ACTION.equals(action)) throw new SaslAuthenticationException("AWS_MSK_IAM: action " + action + " is not " + ACTION);
            String host = field(o, "host");
            if (!cfg.host.equals(host))
                throw new SaslAuthenticationException("AWS_MSK_IAM: the payload is for host " + host + ", this broker is " + cfg.host);
            field(o, "user-agent");
            if (!"AWS4-HMAC-SHA256".equals(field(o, "x-amz-algorithm")))
                throw new SaslAuthenticationException("AWS_MSK_IAM: x-amz-algorithm is not AWS4-HMAC-SHA256");
            if (!"host".equals(field(o, "x-amz-signedheaders")))
                throw new SaslAuthenticationException("AWS_MSK_IAM: x-amz-signedheaders is not host");
            String credential = field(o, "x-amz-credential");
            String amzDate = field(o, "x-amz-date");
            String expires = field(o, "x-amz-expires");
            String signature = field(o, "x-amz-signature");
            JsonNode tok = o.get("x-amz-security-token");
            String token = tok != null && tok.isTextual() ? tok.asText() : null;

            String[] scope = credential.split("/", -1);
            if (scope.length != 5 || !SERVICE.equals(scope[3]) || !"aws4_request".equals(scope[4]))
                throw new SaslAuthenticationException("AWS_MSK_IAM: x-amz-credential " + credential + " is not KEY/DATE/REGION/kafka-cluster/aws4_request");
            if (!cfg.region.equals(scope[2]))
                throw new SaslAuthenticationException("AWS_MSK_IAM: the credential is for region " + scope[2] + ", this cluster is in " + cfg.region);
            Instant signed;
            try {
                signed = Instant.from(AMZ_DATE.parse(amzDate));
            } catch (DateTimeParseException e) {
                throw new SaslAuthenticationException("AWS_MSK_IAM: x-amz-date " + amzDate + " is not YYYYMMDDTHHMMSSZ");
            }
            if (!amzDate.startsWith(scope[1]))
                throw new SaslAuthenticationException("AWS_MSK_IAM: the credential's date " + scope[1] + " is not x-amz-date's");
            long exp;
            try {
                exp = Long.parseLong(expires);
            } catch (NumberFormatException e) {
                exp = -1;
            }
            if (exp < 1 || exp > 900) throw new SaslAuthenticationException("AWS_MSK_IAM: x-amz-expires " + expires + " is not 1..900");
            long now = Instant.now().getEpochSecond();
            if (signed.getEpochSecond() + exp < now)
                throw new SaslAuthenticationException("AWS_MSK_IAM: the signature expired at "
                    + Instant.ofEpochSecond(signed.getEpochSecond() + exp) + " (signed " + amzDate + ", x-amz-expires " + exp + ")");
            if (signed.getEpochSecond() > now + MAX_AHEAD_S)
                throw new SaslAuthenticationException("AWS_MSK_IAM: x-amz-date " + amzDate + " is in the future");
            Key key = cfg.keys.get(scope[0]);
            if (key == null) throw new SaslAuthenticationException("AWS_MSK_IAM: unknown access key " + scope[0]);
            if (key.token != null && !key.token.equals(token))
                throw new SaslAuthenticationException("AWS_MSK_IAM: access key " + scope[0] + " needs its session token");
            if (key.token == null && token != null)
                throw new SaslAuthenticationException("AWS_MSK_IAM: access key " + scope[0] + " has no session token");
            String canonical = canonicalRequest("/", mskParams(action, credential, amzDate, expires, token), host, EMPTY_SHA256);
            String want = sign(key.secret, amzDate, scope[2], SERVICE, canonical);
            if (!MessageDigest.isEqual(want.getBytes(StandardCharsets.US_ASCII), signature.getBytes(StandardCharsets.US_ASCII)))
                throw new SaslAuthenticationException("AWS_MSK_IAM: the signature does not match (wrong secret access key for " + scope[0] + "?)");
            authzId = scope[0];
            done = true;
            expiresMs = System.currentTimeMillis() + cfg.sessionMs;
            ObjectNode r = new ObjectMapper().createObjectNode();
            r.put("version", VERSION);
            r.put("request-id", UUID.randomUUID().toString());
            return r.toString().getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public boolean isComplete() { return done; }

        @Override
        public String getAuthorizationID() {
            if (!done) throw new IllegalStateException("not complete");
            return authzId;
        }

        @Override
        public byte[] unwrap(byte[] b, int off, int len) { throw new IllegalStateException("no security layer"); }

        @Override
        public byte[] wrap(byte[] b, int off, int len) { throw new IllegalStateException("no security layer"); }

        @Override
        public Object getNegotiatedProperty(String name) {
            // Kafka's SaslInternalConfigs.CREDENTIAL_LIFETIME_MS_SASL_NEGOTIATED_PROPERTY_KEY: when the session ends.
            return done && "CREDENTIAL.LIFETIME.MS".equals(name) ? (Object) expiresMs : null;
        }

        @Override
        public void dispose() {}
    }

    public static final class ServerFactory implements SaslServerFactory {
        @Override
        public SaslServer createSaslServer(String mech, String protocol, String serverName, Map<String, ?> props,
                                           CallbackHandler cbh) throws SaslException {
            if (!MECHANISM.equals(mech)) return null;
            if (!(cbh instanceof ServerCallbacks))
                throw new SaslException("AWS_MSK_IAM needs sasl.server.callback.handler.class=AwsMskIam$ServerCallbacks");
            return new Server((ServerCallbacks) cbh);
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) { return new String[] {MECHANISM}; }
    }

    static final class KwalProvider extends Provider {
        private static final long serialVersionUID = 1L;

        KwalProvider() {
            super("KwalAwsMskIam", "1.0", "kwal test-only AWS_MSK_IAM SASL server");
            putService(new Provider.Service(this, "SaslServerFactory", MECHANISM, ServerFactory.class.getName(), null, null));
        }
    }

    public static final class ProviderCreator implements SecurityProviderCreator {
        private static final Provider PROVIDER = new KwalProvider();

        @Override
        public Provider getProvider() { return PROVIDER; }
    }

    // ---- the checker (`broker check`) and the self-test --------------------------------------------------------

    static String payload(String host, String ak, String secret, String token, String region, long nowS, String action) {
        String amzDate = AMZ_DATE.format(Instant.ofEpochSecond(nowS));
        String credential = ak + "/" + amzDate.substring(0, 8) + "/" + region + "/" + SERVICE + "/aws4_request";
        String canonical = canonicalRequest("/", mskParams(action, credential, amzDate, "300", token), host, EMPTY_SHA256);
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("version", VERSION);
        o.put("host", host);
        o.put("user-agent", "kwal-broker-check");
        o.put("action", action);
        o.put("x-amz-algorithm", "AWS4-HMAC-SHA256");
        o.put("x-amz-credential", credential);
        o.put("x-amz-date", amzDate);
        o.put("x-amz-signedheaders", "host");
        o.put("x-amz-expires", "300");
        o.put("x-amz-signature", sign(secret, amzDate, region, SERVICE, canonical));
        if (token != null) o.put("x-amz-security-token", token);
        return o.toString();
    }

    static byte[] frame(int apiKey, int version, int correlation, byte[] body, boolean flexible) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeShort(apiKey);
        d.writeShort(version);
        d.writeInt(correlation);
        d.writeShort(5);
        d.write("check".getBytes(StandardCharsets.US_ASCII));
        if (flexible) d.writeByte(0); // no tagged fields
        d.write(body);
        byte[] m = b.toByteArray();
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        DataOutputStream fd = new DataOutputStream(f);
        fd.writeInt(m.length);
        fd.write(m);
        return f.toByteArray();
    }

    static byte[] readFrame(DataInputStream in) throws Exception {
        int n = in.readInt();
        if (n < 4 || n > 1 << 20) throw new IllegalStateException("bad response size " + n);
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    static int connect(String[] a) throws Exception {
        String host = a[1];
        int port = Integer.parseInt(a[2]);
        String ak = a[3], secret = a[4], token = "-".equals(a[5]) ? null : a[5], region = a[6];
        long skew = a.length > 7 ? Long.parseLong(a[7]) : 0;
        String action = a.length > 8 ? a[8] : ACTION;
        String signedHost = a.length > 9 ? a[9] : host;
        String doc = payload(signedHost, ak, secret, token, region, Instant.now().getEpochSecond() + skew, action);
        String[] said = new String[1];
        int rc = authenticate(host, port, doc, said);
        System.out.println(said[0]);
        return rc;
    }

    // SaslHandshake v1 and SaslAuthenticate v1 (neither flexible): enough to see the broker accept or refuse.
    static int authenticate(String host, int port, String doc, String[] said) throws Exception {
        try (Socket s = new Socket(host, port)) {
            s.setSoTimeout(15000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            ByteArrayOutputStream hb = new ByteArrayOutputStream();
            DataOutputStream hd = new DataOutputStream(hb);
            hd.writeShort(MECHANISM.length());
            hd.write(MECHANISM.getBytes(StandardCharsets.US_ASCII));
            out.write(frame(17, 1, 1, hb.toByteArray(), false));
            DataInputStream r = new DataInputStream(new java.io.ByteArrayInputStream(readFrame(in)));
            r.readInt();
            short err = r.readShort();
            if (err != 0) {
                said[0] = "SaslHandshake error " + err;
                return 1;
            }
            byte[] p = doc.getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream ab = new ByteArrayOutputStream();
            DataOutputStream ad = new DataOutputStream(ab);
            ad.writeInt(p.length);
            ad.write(p);
            out.write(frame(36, 1, 2, ab.toByteArray(), false));
            r = new DataInputStream(new java.io.ByteArrayInputStream(readFrame(in)));
            r.readInt();
            err = r.readShort();
            short ml = r.readShort();
            String msg = "";
            if (ml >= 0) {
                byte[] mb = new byte[ml];
                r.readFully(mb);
                msg = new String(mb, StandardCharsets.UTF_8);
            }
            int bl = r.readInt();
            byte[] auth = new byte[Math.max(bl, 0)];
            r.readFully(auth);
            if (err != 0) {
                said[0] = "refused (error " + err + "): " + msg;
                return 1;
            }
            said[0] = "accepted: " + new String(auth, StandardCharsets.UTF_8);
            return 0;
        }
    }

    // `broker check`: good keys pass, each kind of bad payload is refused; lines in the script's check format.
    static int check(String[] a) throws Exception {
        String host = a[1], region = a[3], ak = a[4], secret = a[5], sak = a[6], ssecret = a[7], stoken = a[8];
        int port = Integer.parseInt(a[2]);
        long now = Instant.now().getEpochSecond();
        Object[][] cases = {
            {"aws-msk-iam", true, payload(host, ak, secret, null, region, now, ACTION)},
            {"aws-msk-iam-session-token", true, payload(host, sak, ssecret, stoken, region, now, ACTION)},
            {"aws-msk-iam-wrong-secret", false, payload(host, ak, secret + "x", null, region, now, ACTION)},
            {"aws-msk-iam-unknown-key", false, payload(host, "AKIDNOSUCHKEY", secret, null, region, now, ACTION)},
            {"aws-msk-iam-expired", false, payload(host, ak, secret, null, region, now - 600, ACTION)},
            {"aws-msk-iam-future", false, payload(host, ak, secret, null, region, now + 900, ACTION)},
            {"aws-msk-iam-wrong-host", false, payload("wrong.example", ak, secret, null, region, now, ACTION)},
            {"aws-msk-iam-wrong-action", false, payload(host, ak, secret, null, region, now, "kafka-cluster:AlterCluster")},
            {"aws-msk-iam-wrong-region", false, payload(host, ak, secret, null, "eu-west-1", now, ACTION)},
            {"aws-msk-iam-token-missing", false, payload(host, sak, ssecret, null, region, now, ACTION)},
        };
        int fails = 0;
        for (Object[] c : cases) {
            String name = (String) c[0];
            boolean want = (Boolean) c[1];
            String[] said = new String[1];
            boolean got = authenticate(host, port, (String) c[2], said) == 0;
            if (got == want) {
                System.out.printf("ok    %-34s (%s as expected)%n", name, got ? "succeeds" : "fails");
            } else {
                fails++;
                System.out.printf("FAIL  %-34s expected to %s%n      %s%n", name, want ? "succeed" : "fail", said[0]);
            }
        }
        return fails == 0 ? 0 : 1;
    }

    static void expect(String what, String got, String want) {
        if (!want.equals(got)) throw new IllegalStateException(what + ": got " + got + ", want " + want);
    }

    // AWS's published SigV4 examples: the IAM signing key and signature, and the S3 presigned URL.
    static void selftest() {
        expect("signing key", hex(signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
        Map<String, String> p = new HashMap<>();
        p.put("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
        p.put("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
        p.put("X-Amz-Date", "20130524T000000Z");
        p.put("X-Amz-Expires", "86400");
        p.put("X-Amz-SignedHeaders", "host");
        String c = canonicalRequest("/test.txt", p, "examplebucket.s3.amazonaws.com", "UNSIGNED-PAYLOAD");
        expect("S3 presigned signature", sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524T000000Z", "us-east-1", "s3", c),
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
        System.out.printf("ok    %-34s (succeeds as expected)%n", "aws-sigv4-published-examples");
    }

    public static void main(String[] a) throws Exception {
        if (a.length == 1 && "selftest".equals(a[0])) {
            selftest();
            return;
        }
        if (a.length >= 7 && "connect".equals(a[0])) {
            System.exit(connect(a));
        }
        if (a.length == 9 && "check".equals(a[0])) {
            selftest();
            System.exit(check(a));
        }
        System.err.println("usage: AwsMskIam selftest | connect HOST PORT AKID SECRET TOKEN|- REGION [SKEW_S [ACTION [SIGNED_HOST]]]\n"
            + "       AwsMskIam check HOST PORT REGION AKID SECRET SESSION_AKID SESSION_SECRET SESSION_TOKEN");
        System.exit(2);
    }
}

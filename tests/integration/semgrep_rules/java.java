// Test targets for policies/semgrep/java.yaml (semgrep --test format).
// "ruleid" marks the next line as a required finding, "ok" as a required non-finding.
// Top-level classes are package-private because the file name ("java.java") is fixed by the test layout.
package com.example.semgreptests;

import java.beans.XMLDecoder;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.PrintWriter;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import javax.crypto.Cipher;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import javax.persistence.EntityManager;
import javax.script.ScriptEngine;
import javax.script.ScriptEngineManager;
import javax.servlet.http.Cookie;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamReader;
import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import io.jsonwebtoken.Jwts;
import org.apache.commons.io.FilenameUtils;
import org.owasp.encoder.Encode;
import org.springframework.context.annotation.Configuration;
import org.springframework.expression.ExpressionParser;
import org.springframework.expression.spel.standard.SpelExpressionParser;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configuration.EnableWebSecurity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.client.RestTemplate;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

class SqlExamples {
    // ---------------------------------------------------------------- SQL injection
    ResultSet find(Connection conn, String name, String order) throws Exception {
        Statement stmt = conn.createStatement();
        // ruleid: java-sql-injection-concat
        ResultSet rs = stmt.executeQuery("SELECT * FROM users WHERE name = '" + name + "'");
        // ruleid: java-sql-injection-concat
        conn.createStatement().executeUpdate("DELETE FROM sessions WHERE user = '" + name + "'");
        // ruleid: java-sql-injection-concat
        String q = "SELECT id FROM users ORDER BY " + order;
        conn.createStatement().executeQuery(q);
        // ok: java-sql-injection-concat
        PreparedStatement ps = conn.prepareStatement("SELECT * FROM users WHERE name = ?");
        ps.setString(1, name);
        // ok: java-sql-injection-concat
        System.out.println("SELECT * FROM users WHERE name = " + name);
        return rs;
    }

    List<?> jpa(EntityManager em, JdbcTemplate jdbc, String status) {
        // ruleid: java-sql-injection-format
        List<?> a = em.createNativeQuery(String.format("SELECT * FROM orders WHERE status = '%s'", status)).getResultList();
        // ruleid: java-sql-injection-format
        jdbc.update(String.format("UPDATE orders SET status = '%s' WHERE id = 1", status));
        // ok: java-sql-injection-format
        List<?> b = em.createQuery("SELECT o FROM Order o WHERE o.status = :s").setParameter("s", status).getResultList();
        // ok: java-sql-injection-format
        String msg = String.format("status %s", status);
        return a.isEmpty() ? b : a;
    }
}

class CommandExamples {
    // ---------------------------------------------------------- command injection
    void run(String host) throws IOException {
        // ruleid: java-command-injection
        Runtime.getRuntime().exec("ping -c 1 " + host);
        // ruleid: java-command-injection
        new ProcessBuilder("sh", "-c", "nslookup " + host).start();
        // ruleid: java-command-injection
        Runtime.getRuntime().exec(new String[] {"/bin/bash", "-c", host});
        // ruleid: java-command-injection
        Runtime.getRuntime().exec("wkhtmltopdf /invoices/" + host + ".html /tmp/" + host + ".pdf");
        // ok: java-command-injection
        new ProcessBuilder("ping", "-c", "1", host).start();
        // ok: java-command-injection
        Runtime.getRuntime().exec(new String[] {"ping", "-c", "1", host + ".example.com"});
        // ok: java-command-injection
        Runtime.getRuntime().exec(new String[] {"ping", "-c", "1", host});
        // ok: java-command-injection
        new ProcessBuilder("sh", "-c", "uptime").start();
    }

    // -------------------------------------------------------------- code injection
    Object script(String expr) throws Exception {
        ScriptEngine engine = new ScriptEngineManager().getEngineByName("javascript");
        // ruleid: java-script-engine-injection
        Object r = engine.eval("var x = " + expr + "; x");
        // ok: java-script-engine-injection
        Object s = engine.eval("1 + 1");
        return r != null ? r : s;
    }

    Object spel(String expr) {
        ExpressionParser parser = new SpelExpressionParser();
        // ruleid: java-spel-expression-injection
        Object v = parser.parseExpression(expr).getValue();
        // ok: java-spel-expression-injection
        Object w = parser.parseExpression("T(java.lang.Math).max(1, 2)").getValue();
        return v != null ? v : w;
    }
}

class DeserializationExamples {
    // --------------------------------------------------------- deserialization
    Object read(InputStream in) throws Exception {
        ObjectInputStream ois = new ObjectInputStream(in);
        // ruleid: java-object-deserialization
        Object o = ois.readObject();
        XMLDecoder decoder = new XMLDecoder(in);
        // ruleid: java-object-deserialization
        Object p = decoder.readObject();
        return o != null ? o : p;
    }

    Object readFiltered(InputStream in) throws Exception {
        ObjectInputStream ois = new ObjectInputStream(in);
        ois.setObjectInputFilter(java.io.ObjectInputFilter.Config.createFilter("com.example.dto.*;!*"));
        // ok: java-object-deserialization
        return ois.readObject();
    }

    Object yaml(String text) {
        // ruleid: java-snakeyaml-unsafe-load
        Object a = new Yaml().load(text);
        Yaml unsafe = new Yaml();
        // ruleid: java-snakeyaml-unsafe-load
        Object b = unsafe.load(text);
        Yaml safe = new Yaml(new SafeConstructor(new LoaderOptions()));
        // ok: java-snakeyaml-unsafe-load
        Object c = safe.load(text);
        return a != null ? a : (b != null ? b : c);
    }
}

class CryptoExamples {
    // ---------------------------------------------------------------- weak crypto
    byte[] digest(byte[] data) throws Exception {
        // ruleid: java-weak-hash
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        // ruleid: java-weak-hash
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        // ok: java-weak-hash
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        md5.update(data);
        sha1.update(data);
        return sha256.digest(data);
    }

    Cipher[] ciphers() throws Exception {
        // ruleid: java-weak-cipher
        Cipher des = Cipher.getInstance("DES/CBC/PKCS5Padding");
        // ruleid: java-weak-cipher
        Cipher ecb = Cipher.getInstance("AES/ECB/PKCS5Padding");
        // ruleid: java-weak-cipher
        Cipher defaultMode = Cipher.getInstance("AES");
        // ok: java-weak-cipher
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
        return new Cipher[] {des, ecb, defaultMode, gcm};
    }

    String generateResetToken() {
        // ruleid: java-insecure-random-secret
        Random random = new Random();
        return Long.toHexString(random.nextLong());
    }

    String other() {
        // ruleid: java-insecure-random-secret
        String sessionId = Long.toString((long) (Math.random() * Long.MAX_VALUE), 36);
        byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        // ok: java-insecure-random-secret
        String apiToken = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        // ok: java-insecure-random-secret
        int jitter = new Random().nextInt(250);
        return sessionId + apiToken + jitter;
    }
}

class TlsExamples {
    // ---------------------------------------------------------- TLS verification
    TrustManager[] trustAll = new TrustManager[] {
        new X509TrustManager() {
            @Override
            // ruleid: java-trust-all-certificates
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            // ruleid: java-trust-all-certificates
            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }
    };

    X509TrustManager pinned(X509TrustManager delegate) {
        return new X509TrustManager() {
            @Override
            // ok: java-trust-all-certificates
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
                delegate.checkClientTrusted(chain, authType);
            }

            @Override
            // ok: java-trust-all-certificates
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
                delegate.checkServerTrusted(chain, authType);
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return delegate.getAcceptedIssuers();
            }
        };
    }

    HostnameVerifier allowAll = new HostnameVerifier() {
        @Override
        // ruleid: java-hostname-verifier-allow-all
        public boolean verify(String hostname, SSLSession session) {
            return true;
        }
    };

    void configure(HttpsURLConnection conn) {
        // ruleid: java-hostname-verifier-allow-all
        conn.setHostnameVerifier((host, session) -> true);
        // ok: java-hostname-verifier-allow-all
        conn.setHostnameVerifier(HttpsURLConnection.getDefaultHostnameVerifier());
    }
}

@Configuration
// ruleid: java-spring-security-debug
@EnableWebSecurity(debug = true)
class DebugSecurityConfig {
    void configure(HttpSecurity http) throws Exception {
        // ruleid: java-spring-csrf-disabled
        http.csrf().disable();
    }
}

@Configuration
// ok: java-spring-security-debug
@EnableWebSecurity(debug = false)
class SecurityConfig {
    void configure(HttpSecurity http) throws Exception {
        // ok: java-spring-csrf-disabled
        http.csrf(csrf -> csrf.ignoringRequestMatchers("/api/webhooks/**"));
    }
}

class XmlExamples {
    // ------------------------------------------------------------------------- XXE
    DocumentBuilder unsafe() throws Exception {
        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        // ruleid: java-xxe-parser-factory
        return dbf.newDocumentBuilder();
    }

    DocumentBuilder safe() throws Exception {
        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        // ok: java-xxe-parser-factory
        return dbf.newDocumentBuilder();
    }

    XMLStreamReader stax(InputStream in) throws Exception {
        XMLInputFactory xif = XMLInputFactory.newInstance();
        // ruleid: java-xxe-parser-factory
        return xif.createXMLStreamReader(in);
    }

    XMLStreamReader staxSafe(InputStream in) throws Exception {
        XMLInputFactory xif = XMLInputFactory.newFactory();
        xif.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        // ok: java-xxe-parser-factory
        return xif.createXMLStreamReader(in);
    }
}

class WebExamples {
    private static final String BASE_DIR = "/srv/files";

    // -------------------------------------------------------------- path traversal
    byte[] download(HttpServletRequest request) throws IOException {
        String name = request.getParameter("file");
        // ruleid: java-path-traversal
        File f = new File(BASE_DIR, name);
        // ok: java-path-traversal
        File g = new File(BASE_DIR, FilenameUtils.getName(name));
        // ok: java-path-traversal
        File h = new File(BASE_DIR, "index.html");
        try (FileInputStream in = new FileInputStream(g)) {
            return in.readAllBytes();
        } finally {
            System.out.println(f.length() + h.length());
        }
    }

    @GetMapping("/report")
    byte[] report(@RequestParam("name") String reportName) throws IOException {
        // ruleid: java-path-traversal
        Path p = Paths.get(BASE_DIR, reportName);
        return Files.readAllBytes(p);
    }

    // ------------------------------------------------------------------------ SSRF
    String fetch(HttpServletRequest request, RestTemplate rest) throws IOException {
        String target = request.getParameter("url");
        // ruleid: java-ssrf
        URL url = new URL(target);
        // ruleid: java-ssrf
        String body = rest.getForObject("https://" + request.getParameter("host") + "/meta", String.class);
        // ok: java-ssrf
        String status = rest.getForObject("https://status.example.com/health", String.class);
        return url.getHost() + body + status;
    }

    // --------------------------------------------------------------- open redirect
    void login(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String next = request.getParameter("next");
        if (next == null) {
            // ok: java-open-redirect
            response.sendRedirect("/home");
            return;
        }
        if (next.startsWith("profile")) {
            // ok: java-open-redirect
            response.sendRedirect("/users/" + next);
            return;
        }
        // ruleid: java-open-redirect
        response.sendRedirect(next);
    }

    @GetMapping("/continue")
    String cont(@RequestParam String target) {
        // ruleid: java-open-redirect
        return "redirect:" + target;
    }

    // ------------------------------------------------------------------------- XSS
    void hello(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String name = request.getParameter("name");
        PrintWriter out = response.getWriter();
        // ruleid: java-servlet-reflected-xss
        out.println("<h1>Hello " + name + "</h1>");
        // ok: java-servlet-reflected-xss
        out.println("<h1>Hello " + Encode.forHtml(name) + "</h1>");
        // ok: java-servlet-reflected-xss
        out.println("<h1>Hello stranger</h1>");
    }

    // ------------------------------------------------------------ insecure cookie
    void cookies(HttpServletResponse response, String value) {
        Cookie plain = new Cookie("sid", value);
        // ruleid: java-insecure-cookie
        response.addCookie(plain);
        Cookie hardened = new Cookie("sid", value);
        hardened.setSecure(true);
        hardened.setHttpOnly(true);
        // ok: java-insecure-cookie
        response.addCookie(hardened);
        Cookie weak = new Cookie("theme", "dark");
        // ruleid: java-insecure-cookie
        weak.setHttpOnly(false);
    }
}

class SecretExamples {
    // --------------------------------------------------------------------- secrets
    // ruleid: java-hardcoded-secret
    private static final String DB_PASSWORD = "Sup3r-S3cret-Pw!";
    // ok: java-hardcoded-secret
    private static final String API_TOKEN = System.getenv("API_TOKEN");
    // ok: java-hardcoded-secret
    private static final String PASSWORD_RESET_URL = "/account/password/reset";

    Connection connect(String url) throws Exception {
        // ruleid: java-hardcoded-secret
        Connection c = DriverManager.getConnection(url, "app", "Tr0ub4dor&3");
        // ok: java-hardcoded-secret
        Connection d = DriverManager.getConnection(url, "app", System.getenv("DB_PASSWORD"));
        return c != null ? c : d;
    }
}

class JwtAndUrlExamples {
    // ruleid: java-credentials-in-url
    static final String AMQP = "amqp://orders:R4bbitPass@broker:5672/orders";
    // ok: java-credentials-in-url
    static final String LOCAL_AMQP = "amqp://broker:5672/orders";

    Object claims(String token, byte[] key, javax.crypto.SecretKey secretKey) {
        // ruleid: java-jwt-verification-disabled
        Algorithm none = Algorithm.none();
        // ruleid: java-jwt-verification-disabled
        Object unsigned = Jwts.parser().build().parseClaimsJwt(token);
        // ok: java-jwt-verification-disabled
        Object verified = JWT.require(Algorithm.HMAC256(key)).build().verify(token);
        // ok: java-jwt-verification-disabled
        Object signed = Jwts.parser().verifyWith(secretKey).build().parseSignedClaims(token);
        return new Object[] {none, unsigned, verified, signed};
    }
}


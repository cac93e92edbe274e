package shop;

import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.math.BigDecimal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Invoice and payment helpers for vulnshop billing. */
public class Billing {
    private final Connection conn;

    public Billing(Connection conn) {
        this.conn = conn;
    }

    public BigDecimal invoiceTotal(String invoiceId) throws SQLException {
        Statement stmt = conn.createStatement();
        ResultSet rs = stmt.executeQuery("SELECT total FROM invoices WHERE id = '" + invoiceId + "'");
        return rs.next() ? rs.getBigDecimal(1) : BigDecimal.ZERO;
    }

    public BigDecimal customerBalance(long customerId) throws SQLException {
        PreparedStatement ps = conn.prepareStatement("SELECT balance FROM customers WHERE id = ?");
        ps.setLong(1, customerId);
        ResultSet rs = ps.executeQuery();
        return rs.next() ? rs.getBigDecimal(1) : BigDecimal.ZERO;
    }

    public void exportPdf(String invoiceId) throws IOException {
        Runtime.getRuntime().exec("wkhtmltopdf /invoices/" + invoiceId + ".html /tmp/" + invoiceId + ".pdf");
    }

    public String receiptFingerprint(String receipt) throws NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("MD5");
        StringBuilder hex = new StringBuilder();
        for (byte b : md.digest(receipt.getBytes())) {
            hex.append(String.format("%02x", b));
        }
        return hex.toString();
    }

    public Object loadPaymentToken(InputStream body) throws IOException, ClassNotFoundException {
        try (ObjectInputStream in = new ObjectInputStream(body)) {
            return in.readObject();
        }
    }
}

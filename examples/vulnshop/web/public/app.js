// vulnshop client: shows a banner for the selected category and a cart badge
(function () {
  function showBanner() {
    var category = decodeURIComponent(location.hash.slice(1));
    var banner = document.getElementById("banner");
    banner.innerHTML = "<strong>Browsing: " + category + "</strong>";
  }

  function updateCartBadge(count) {
    var badge = document.getElementById("cart-count");
    badge.textContent = String(count);
  }

  window.addEventListener("hashchange", showBanner);
  document.addEventListener("DOMContentLoaded", function () {
    showBanner();
    fetch("/api/cart").then(function (r) { return r.json(); })
      .then(function (cart) { updateCartBadge(cart.items.length); });
  });
})();

/* Order entry (templates/orders/order_create.html). The server re-renders the lines table whenever
   a line changes, and htmx keeps the focus on the same field. If the user typed into that field
   while the request was under way, put back what they typed and price it again: nothing typed is
   lost to a slow answer. (No money is computed here; the server does all of it.) */
document.addEventListener("htmx:beforeSwap", function (event) {
  var table = event.detail.target;
  var input = document.activeElement;
  if (!table || table.id !== "order-lines" || !input || !input.id || !input.name || !table.contains(input)) return;
  var row = input.closest("[data-line]");
  var formData = event.detail.requestConfig && event.detail.requestConfig.formData;
  if (!row || !formData) return;
  var sent = formData.getAll(input.name)[Number(row.dataset.line)];
  if (sent === undefined || sent === input.value) return;
  var typed = input.value;
  document.addEventListener("htmx:afterSettle", function () {
    var fresh = document.getElementById(input.id);
    if (fresh) {
      fresh.value = typed;
      htmx.trigger(fresh, "change");
    }
  }, { once: true });
});

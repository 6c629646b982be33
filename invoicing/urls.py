from django.urls import path

from . import views

app_name = "invoicing"

urlpatterns = [
    path("", views.InvoiceListView.as_view(), name="invoice_list"),
    path("approval/", views.ApprovalQueueView.as_view(), name="approval_queue"),
    path("new/", views.InvoiceCreateView.as_view(), name="invoice_create"),
    path("to-invoice/", views.ToInvoiceView.as_view(), name="to_invoice"),
    path("<int:pk>/", views.InvoiceDetailView.as_view(), name="invoice_detail"),
    path("<int:pk>/approve/", views.InvoiceApproveView.as_view(), name="invoice_approve"),
    path("<int:pk>/reopen/", views.InvoiceReopenView.as_view(), name="invoice_reopen"),
    path("<int:pk>/discard/", views.InvoiceDiscardView.as_view(), name="invoice_discard"),
    path("<int:pk>/issue/", views.InvoiceIssueView.as_view(), name="invoice_issue"),
    path("<int:pk>/send/", views.InvoiceSendView.as_view(), name="invoice_send"),
    path("<int:pk>/lines/", views.InvoiceLineAddView.as_view(), name="invoice_line_add"),
    path("<int:pk>/allowances-charges/", views.InvoiceAllowanceChargeAddView.as_view(), name="invoice_ac_add"),
    path("<int:pk>/credit-note/", views.CreditNoteCreateView.as_view(), name="credit_note_create"),
    path("<int:pk>/pdf/", views.InvoicePdfView.as_view(), name="invoice_pdf"),
    path("<int:pk>/pdf/status/", views.InvoicePdfStatusView.as_view(), name="invoice_pdf_status"),
    path("<int:pk>/ubl/", views.InvoiceUblView.as_view(), name="invoice_ubl"),
    path("lines/<int:pk>/", views.InvoiceLineUpdateView.as_view(), name="invoice_line_update"),
    path("lines/<int:pk>/remove/", views.InvoiceLineRemoveView.as_view(), name="invoice_line_remove"),
    path("runs/", views.InvoiceRunListView.as_view(), name="run_list"),
    path("runs/<int:pk>/", views.InvoiceRunDetailView.as_view(), name="run_detail"),
    path("exchange-rates/", views.ExchangeRateListView.as_view(), name="exchange_rate_list"),
    path("settings/", views.InvoicingSettingsView.as_view(), name="settings"),
]

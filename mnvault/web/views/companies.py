"""Creating a company: the installation admin's one page, which also lists the companies."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from mnvault.companies.models import Company
from mnvault.companies.onboarding import create_company_with_manager
from mnvault.web.company_forms import NewCompanyForm


@sensitive_post_parameters("manager_password")
def company_new(request: HttpRequest) -> HttpResponse:
    if not (request.user.is_authenticated and request.user.is_installation_admin):
        raise Http404
    form = NewCompanyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["manager"] is not None:
            for field in ("manager_username", "manager_full_name", "manager_password"):
                data.pop(field)
        try:
            create_company_with_manager(acting_user=request.user, **data)
        except ValueError:
            form.add_error("manager_username", _("This user name is taken."))
        except ValidationError as invalid:
            field = "corporate_number" if hasattr(invalid, "error_dict") else "manager_password"
            for message in invalid.messages:
                form.add_error(field, message)
        else:
            return redirect("web:home")
    companies = Company.objects.order_by("name")
    return render(request, "web/company_new.html", {"form": form, "companies": companies})

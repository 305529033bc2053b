"""Every router of the REST API (under ``/api/v1``) and of the pages, in the order they are
matched, and the static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api import audit as audit_api
from app.api import auth as auth_api
from app.api import certificates as certificates_api
from app.api import claims as claims_api
from app.api import classes as classes_api
from app.api import courses as courses_api
from app.api import eligibility as eligibility_api
from app.api import exchange as exchange_api
from app.api import face as face_api
from app.api import filings as filings_api
from app.api import handoff as handoff_api
from app.api import institutions as institutions_api
from app.api import media as media_api
from app.api import offline as offline_api
from app.api import outcomes as outcomes_api
from app.api import passwords as passwords_api
from app.api import programmes as programmes_api
from app.api import registry as registry_api
from app.api import reports as reports_api
from app.api import study as study_api
from app.api import webhooks as webhooks_api
from app.api import xapi as xapi_api
from app.config import Settings
from app.http.fastlane import FastLane
from app.main.ops import install_ops_routes
from app.web import account as account_web
from app.web import certificates as certificates_web
from app.web import docs as docs_web
from app.web import eligibility as eligibility_web
from app.web import handoff as handoff_web
from app.web import integrations as integrations_web
from app.web import learner as learner_web
from app.web import learner_certificates as learner_certificates_web
from app.web import notices as notices_web
from app.web import offline as offline_web
from app.web import passwords as passwords_web
from app.web import render as render_web
from app.web import review as review_web
from app.web import signup as signup_web
from app.web.admin import audit as admin_audit_web
from app.web.admin import institutions as admin_institutions_web
from app.web.admin import status as admin_status_web
from app.web.admin import users as admin_users_web
from app.web.regulator import claims as regulator_claims_web
from app.web.regulator import dashboard as regulator_dashboard_web
from app.web.regulator import filings as regulator_filings_web
from app.web.regulator import records as regulator_records_web
from app.web.regulator import registry as regulator_registry_web
from app.web.regulator import standards as regulator_standards_web
from app.web.staff import certificates as staff_certificates_web
from app.web.staff import checks as staff_checks_web
from app.web.staff import claim_batches as staff_claim_batches_web
from app.web.staff import claims as staff_claims_web
from app.web.staff import class_moves as staff_class_moves_web
from app.web.staff import classes as staff_classes_web
from app.web.staff import content as staff_content_web
from app.web.staff import courses as staff_courses_web
from app.web.staff import filings as staff_filings_web
from app.web.staff import learners as staff_learners_web
from app.web.staff import rosters as staff_rosters_web

API_PREFIX = "/api/v1"


def include_routers(app: FastAPI, settings: Settings) -> None:
    # The study routes first: every open page's heartbeat is matched against the routes in
    # order, and no other route shares a study route's method and path. Then the probes and
    # the key set: FastAPI walks the included routers one route at a time, and behind the ~300
    # routes below a /healthz spent most of its CPU matching (in-process, same run, load 7-10:
    # 2.2 ms a request before, 0.4-0.7 ms here). A balancer's /readyz and the benchmarks'
    # /healthz baseline should measure the app, not the route table.
    # The heartbeat's fast lane in front of its declared route (app/http/fastlane.py).
    for path, method, handler, uuid_params in study_api.FAST_LANES:
        lane = FastLane(API_PREFIX + path, method, handler, uuid_params=uuid_params)
        app.router.routes.append(lane)
    app.include_router(study_api.router, prefix=API_PREFIX)
    install_ops_routes(app, settings)
    for module in (
        auth_api,
        passwords_api,
        institutions_api,
        face_api,
        courses_api,
        classes_api,
        offline_api,
        media_api,
        audit_api,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(xapi_api.router)
    app.include_router(reports_api.router, prefix=API_PREFIX)
    app.include_router(certificates_api.router, prefix=API_PREFIX)
    app.include_router(claims_api.router, prefix=API_PREFIX)
    app.include_router(exchange_api.router, prefix=API_PREFIX)
    app.include_router(outcomes_api.router, prefix=API_PREFIX)
    app.include_router(programmes_api.router, prefix=API_PREFIX)
    app.include_router(eligibility_api.router, prefix=API_PREFIX)
    app.include_router(filings_api.router, prefix=API_PREFIX)
    app.include_router(registry_api.router, prefix=API_PREFIX)
    app.include_router(notices_web.router)
    app.include_router(certificates_web.router)
    for page in (
        account_web,
        signup_web,
        passwords_web,
        learner_web,
        offline_web,
        review_web,
        regulator_dashboard_web,
        regulator_records_web,
        regulator_claims_web,
        regulator_standards_web,
        regulator_filings_web,
        regulator_registry_web,
        staff_courses_web,
        staff_classes_web,
        staff_class_moves_web,
        staff_filings_web,
        staff_rosters_web,
        staff_content_web,
        staff_learners_web,
        staff_checks_web,
        staff_claims_web,
        staff_claim_batches_web,
        staff_certificates_web,
        eligibility_web,
    ):
        app.include_router(page.router)
    app.include_router(learner_certificates_web.router)
    app.include_router(handoff_api.router, prefix=API_PREFIX)
    app.include_router(handoff_web.router)
    app.include_router(integrations_web.router)
    app.include_router(webhooks_api.router, prefix=API_PREFIX)
    app.include_router(docs_web.router)
    for admin_pages in (admin_status_web, admin_institutions_web, admin_users_web, admin_audit_web):
        app.include_router(admin_pages.router)
    app.mount("/static", StaticFiles(directory=render_web.STATIC_DIR), name="static")

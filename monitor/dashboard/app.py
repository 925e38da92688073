"""The analyst dashboard: `streamlit run monitor/dashboard/app.py` (or `monitor dashboard`).

Pages live in `views/`, not `pages/`: Streamlit treats a `pages/` folder next to the
entry script as a v1 multipage app and then never runs this file (so `st.navigation`, the page
config and the URL paths below would be ignored).

Five pages over the monitor's database, read-only except the alert desk (acknowledging an
alert, creating and expiring silences). Page URLs are stable (`/` for the Overview,
`/alerts?alert_id=N`, `/news`, `/company?ticker=AAPL`, `/pipeline`): alert webhooks link to
them. The sidebar's time zone applies to every page; its company search opens a Company page.
"""

from __future__ import annotations

import common
import companies
import streamlit as st
import timepick

st.set_page_config(
    page_title="News sentiment monitor",
    page_icon="📈",
    layout="wide",
    initial_sidebar_state="expanded",
)

pages = [
    st.Page("views/overview.py", title="Overview", icon="📈", url_path="overview", default=True),
    st.Page("views/alerts.py", title="Alerts", icon="🚨", url_path="alerts"),
    st.Page("views/news.py", title="News", icon="📰", url_path="news"),
    st.Page("views/company.py", title="Company", icon="🏢", url_path="company"),
    st.Page("views/pipeline.py", title="Pipeline", icon="⚙️", url_path="pipeline"),
]
navigation = st.navigation(pages, position="sidebar", expanded=True)
timepick.zone_picker()
with common.db_guard():
    companies.search_box(st.sidebar)
navigation.run()

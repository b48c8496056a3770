"""A replica of 上海政协 (www.shszx.gov.cn): GB2312 TRS-style list and article pages, and routes."""

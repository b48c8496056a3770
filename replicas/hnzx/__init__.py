"""A replica of 河南省政协 (www.hnzx.gov.cn): GBK article pages, list pages and routes."""
